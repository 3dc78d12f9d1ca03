"""gunicorn settings read from the working directory (the Procfile's web process)."""

# The recipient page's tokens travel in URLs: the access log redacts them
# (letters/access_log.py), whatever access_log_format an operator sets.
logger_class = "letters.access_log.RedactingLogger"
