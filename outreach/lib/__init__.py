"""Small helpers every stage shares: the CSV formula guard, the Redis token
bucket and IP address keys. Nothing here imports a model or another stage."""
