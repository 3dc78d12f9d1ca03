"""The agencies of the reference campaign (FTC open relay letter, 2004)."""

from __future__ import annotations

# code, name, country, default language, jurisdiction, postal address, email
SEED_AGENCIES: list[dict] = [
    {
        "code": "ftc",
        "name": "Federal Trade Commission",
        "country": "US",
        "default_language": "en",
        "jurisdiction": ["US"],
        "postal_address": "600 Pennsylvania Avenue NW\nWashington, D.C. 20580\nUnited States",
        "contact_email": "relay@ftc.example",
        "reply_domain": "ftc.example",
        "instructions_url": "https://ftc.example/openrelay",
        "signature": "Federal Trade Commission\nBureau of Consumer Protection",
    },
    {"code": "ar-ag", "name": "Attorney General of Arkansas", "country": "US"},
    {"code": "la-ag", "name": "Attorney General of Louisiana", "country": "US"},
    {"code": "nm-ag", "name": "Attorney General of New Mexico", "country": "US"},
    {"code": "ok-ag", "name": "Attorney General of Oklahoma", "country": "US"},
    {"code": "tx-ag", "name": "Attorney General of Texas", "country": "US"},
    {"code": "nm-da", "name": "New Mexico District Attorney's Office", "country": "US"},
    {"code": "uspis", "name": "United States Postal Inspection Service", "country": "US"},
    {
        "code": "sec-fw",
        "name": "Securities and Exchange Commission, Fort Worth Office",
        "country": "US",
    },
    {"code": "richardson-pd", "name": "Richardson (Texas) Police Department", "country": "US"},
    {
        "code": "accc",
        "name": "Australian Competition and Consumer Commission",
        "country": "AU",
        "jurisdiction": ["AU"],
    },
    {
        "code": "ic",
        "name": "Industry Canada",
        "country": "CA",
        "jurisdiction": ["CA"],
    },
    {
        "code": "sernac",
        "name": "Servicio Nacional del Consumidor (SERNAC)",
        "country": "CL",
        "default_language": "es",
        "jurisdiction": ["CL"],
    },
    {
        "code": "jp-oecd",
        "name": "Delegation of Japan to the OECD Committee on Consumer Policy",
        "country": "JP",
        "default_language": "ja",
        "jurisdiction": ["JP"],
    },
]
