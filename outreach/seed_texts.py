"""The reference campaign's agencies, named and introduced in each language we can write well.

French comes from the customer's reference letter
(``shared/seeds/ftc-open-relay-letter-fr.txt``) wherever it names the agency,
and is marked reviewed; everything else was written here in the same
register and is marked machine-unchecked until someone reviews it in the
agency admin. Every text is a whole phrase: articles and case are part of it.

Fields per language: ``name``, ``in_list`` (the name as a list of partners
gives it), ``introduction`` and ``subject`` (the signing agency only), and
``group``/``group_phrase``/``group_member`` for partners named together.
"""

from __future__ import annotations

# ruff: noqa: RUF001 (full-width parentheses are right in Chinese and Japanese)

REVIEWED = "reviewed"
UNCHECKED = "unchecked"

AG_GROUP = "us-state-ag"
_AG_PHRASE = {
    "en": "the Attorneys General of the states of {members}",
    "fr": "les Attorneys General des états {members}",
    "es": "los Fiscales Generales de los estados de {members}",
    "de": "die Generalstaatsanwälte der Bundesstaaten {members}",
    "ja": "{members}の各州司法長官",
}
# state: language -> (name, in_list, group member)
_AG_STATES = {
    "ar-ag": {
        "en": ("Attorney General of Arkansas", "the Attorney General of Arkansas", "Arkansas"),
        "fr": ("Attorney General de l'Arkansas", "l'Attorney General de l'Arkansas",
               "de l'Arkansas"),
        "es": ("Fiscal General de Arkansas", "el Fiscal General de Arkansas", "Arkansas"),
        "de": ("Generalstaatsanwalt von Arkansas", "der Generalstaatsanwalt von Arkansas",
               "Arkansas"),
        "ja": ("アーカンソー州司法長官", "アーカンソー州司法長官", "アーカンソー"),
    },
    "la-ag": {
        "en": ("Attorney General of Louisiana", "the Attorney General of Louisiana", "Louisiana"),
        "fr": ("Attorney General de la Louisiane", "l'Attorney General de la Louisiane",
               "de la Louisiane"),
        "es": ("Fiscal General de Luisiana", "el Fiscal General de Luisiana", "Luisiana"),
        "de": ("Generalstaatsanwalt von Louisiana", "der Generalstaatsanwalt von Louisiana",
               "Louisiana"),
        "ja": ("ルイジアナ州司法長官", "ルイジアナ州司法長官", "ルイジアナ"),
    },
    "nm-ag": {
        "en": ("Attorney General of New Mexico", "the Attorney General of New Mexico",
               "New Mexico"),
        "fr": ("Attorney General du Nouveau-Mexique", "l'Attorney General du Nouveau-Mexique",
               "du Nouveau-Mexique"),
        "es": ("Fiscal General de Nuevo México", "el Fiscal General de Nuevo México",
               "Nuevo México"),
        "de": ("Generalstaatsanwalt von New Mexico", "der Generalstaatsanwalt von New Mexico",
               "New Mexico"),
        "ja": ("ニューメキシコ州司法長官", "ニューメキシコ州司法長官", "ニューメキシコ"),
    },
    "ok-ag": {
        "en": ("Attorney General of Oklahoma", "the Attorney General of Oklahoma", "Oklahoma"),
        "fr": ("Attorney General de l'Oklahoma", "l'Attorney General de l'Oklahoma",
               "de l'Oklahoma"),
        "es": ("Fiscal General de Oklahoma", "el Fiscal General de Oklahoma", "Oklahoma"),
        "de": ("Generalstaatsanwalt von Oklahoma", "der Generalstaatsanwalt von Oklahoma",
               "Oklahoma"),
        "ja": ("オクラホマ州司法長官", "オクラホマ州司法長官", "オクラホマ"),
    },
    "tx-ag": {
        "en": ("Attorney General of Texas", "the Attorney General of Texas", "Texas"),
        "fr": ("Attorney General du Texas", "l'Attorney General du Texas", "du Texas"),
        "es": ("Fiscal General de Texas", "el Fiscal General de Texas", "Texas"),
        "de": ("Generalstaatsanwalt von Texas", "der Generalstaatsanwalt von Texas", "Texas"),
        "ja": ("テキサス州司法長官", "テキサス州司法長官", "テキサス"),
    },
}  # fmt: skip

# code: language -> (name, in_list)
_NAMES = {
    "nm-da": {
        "en": ("New Mexico District Attorney's Office",
               "the New Mexico District Attorney's Office"),
        "fr": ("Cabinet du représentant du ministère public du Nouveau-Mexique",
               "le cabinet du représentant du ministère public du Nouveau-Mexique"),
        "es": ("Fiscalía de Distrito de Nuevo México", "la Fiscalía de Distrito de Nuevo México"),
        "de": ("Bezirksstaatsanwaltschaft von New Mexico",
               "die Bezirksstaatsanwaltschaft von New Mexico"),
        "ja": ("ニューメキシコ州地区検事局", "ニューメキシコ州地区検事局"),
    },
    "uspis": {
        "en": ("United States Postal Inspection Service", "the Postal Inspection Service"),
        "fr": ("Service d'inspection des services postaux",
               "le service d'inspection des services postaux"),
        "es": ("Servicio de Inspección Postal de los Estados Unidos",
               "el Servicio de Inspección Postal"),
        "de": ("United States Postal Inspection Service",
               "der Postal Inspection Service (Postaufsicht der Vereinigten Staaten)"),
        "ja": ("米国郵便検査局", "米国郵便検査局"),
    },
    "sec-fw": {
        "en": ("Securities and Exchange Commission, Fort Worth Office",
               "the Fort Worth office of the Securities and Exchange Commission"),
        "fr": ("Securities and Exchange Commission, bureau de Ft. Worth",
               "le bureau de Ft. Worth de la Securities and Exchange Commission"),
        "es": ("Securities and Exchange Commission, oficina de Fort Worth",
               "la oficina de Fort Worth de la Securities and Exchange Commission"),
        "de": ("Securities and Exchange Commission, Büro Fort Worth",
               "das Büro Fort Worth der Securities and Exchange Commission"),
        "ja": ("米国証券取引委員会フォートワース事務所", "米国証券取引委員会フォートワース事務所"),
    },
    "richardson-pd": {
        "en": ("Richardson (Texas) Police Department", "the Richardson (Texas) Police Department"),
        "fr": ("Département de la Police du Texas (Richardson)",
               "le département de la Police du Texas (Richardson)"),
        "es": ("Departamento de Policía de Richardson (Texas)",
               "el Departamento de Policía de Richardson (Texas)"),
        "de": ("Polizeibehörde von Richardson (Texas)",
               "die Polizeibehörde von Richardson (Texas)"),
        "ja": ("テキサス州リチャードソン市警察", "テキサス州リチャードソン市警察"),
    },
    "accc": {
        "en": ("Australian Competition and Consumer Commission",
               "the Australian Competition and Consumer Commission"),
        "fr": ("Competition and Consumer Commission Australienne",
               "la Competition and Consumer Commission Australienne"),
        "es": ("Comisión Australiana de Competencia y del Consumidor",
               "la Comisión Australiana de Competencia y del Consumidor"),
        "de": ("Australian Competition and Consumer Commission",
               "die Australian Competition and Consumer Commission"),
        "ja": ("オーストラリア競争・消費者委員会", "オーストラリア競争・消費者委員会"),
    },
    "ic": {
        "en": ("Industry Canada", "Industry Canada"),
        "fr": ("Industrie Canada", "Industrie Canada"),
        "es": ("Industry Canada", "Industry Canada (Ministerio de Industria de Canadá)"),
        "de": ("Industry Canada", "Industry Canada (kanadisches Industrieministerium)"),
        "ja": ("カナダ産業省", "カナダ産業省"),
    },
    "sernac": {
        "en": ("Servicio Nacional del Consumidor (SERNAC)",
               "Chile's Servicio Nacional del Consumidor (SERNAC)"),
        "fr": ("Servicio Nacional del Consumidor (SERNAC)",
               "Servicio Nacional del Consumidor (SERNAC)"),
        "es": ("Servicio Nacional del Consumidor (SERNAC)",
               "el Servicio Nacional del Consumidor (SERNAC)"),
        "de": ("Servicio Nacional del Consumidor (SERNAC)",
               "der chilenische Servicio Nacional del Consumidor (SERNAC)"),
        "ja": ("チリ国家消費者庁（SERNAC）", "チリ国家消費者庁（SERNAC）"),
    },
    "jp-oecd": {
        "en": ("Delegation of Japan to the OECD Committee on Consumer Policy",
               "the Japanese delegation to the Organisation for Economic Co-operation and "
               "Development (OECD) Committee on Consumer Policy"),
        "fr": ("Délégation japonaise de l'OCDE en matière de politique sur la consommation",
               "la délégation japonaise de l'Organisation de Coopération et de Développement "
               "Economiques (OECD) en matière de politique sur la consommation"),
        "es": ("Delegación de Japón ante el Comité de Política del Consumidor de la OCDE",
               "la delegación de Japón ante el Comité de Política del Consumidor de la "
               "Organización para la Cooperación y el Desarrollo Económicos (OCDE)"),
        "de": ("Delegation Japans im OECD-Verbraucherpolitikausschuss",
               "die Delegation Japans im Verbraucherpolitikausschuss der Organisation für "
               "wirtschaftliche Zusammenarbeit und Entwicklung (OECD)"),
        "ja": ("OECD消費者政策委員会日本代表団",
               "経済協力開発機構（OECD）消費者政策委員会日本代表団"),
    },
}  # fmt: skip

_FTC = {
    "en": {
        "name": "Federal Trade Commission",
        "in_list": "the Federal Trade Commission",
        "introduction": "The Federal Trade Commission is a United States government agency "
        "charged with protecting consumers against unfair, deceptive and fraudulent practices.",
        "subject": "The Commission",
    },
    "fr": {
        "name": "Federal Trade Commission",
        "in_list": "la Federal Trade Commission",
        "introduction": "La Federal Trade Commission est une agence gouvernementale américaine "
        "qui est chargée de protéger les consommateurs contre les usages illicites, trompeurs "
        "et déloyaux.",
        "subject": "La Commission",
        "status": REVIEWED,
    },
    "es": {
        "name": "Comisión Federal de Comercio (FTC)",
        "in_list": "la Comisión Federal de Comercio (FTC)",
        "introduction": "La Comisión Federal de Comercio (FTC) es una agencia del gobierno de "
        "los Estados Unidos encargada de proteger a los consumidores contra las prácticas "
        "ilícitas, engañosas y desleales.",
        "subject": "La Comisión",
    },
    "de": {
        "name": "Federal Trade Commission",
        "in_list": "die Federal Trade Commission",
        "introduction": "Die Federal Trade Commission ist eine Behörde der Vereinigten Staaten, "
        "die Verbraucher vor unlauteren, irreführenden und betrügerischen Praktiken schützt.",
        "subject": "Die Kommission",
    },
    "ja": {
        "name": "米国連邦取引委員会",
        "in_list": "米国連邦取引委員会",
        "introduction": "米国連邦取引委員会（FTC）は、不公正、欺瞞的および不正な商慣行から"
        "消費者を保護することを任務とする米国政府機関です。",
        "subject": "当委員会",
    },
    "zh-hans": {
        "name": "美国联邦贸易委员会",
        "in_list": "美国联邦贸易委员会",
        "introduction": "美国联邦贸易委员会（FTC）是负责保护消费者免受不公平、欺骗性和欺诈性"
        "商业行为侵害的美国政府机构。",
        "subject": "本委员会",
    },
    "ar": {
        "name": "لجنة التجارة الفيدرالية",
        "in_list": "لجنة التجارة الفيدرالية",
        "introduction": "لجنة التجارة الفيدرالية وكالة حكومية أمريكية مكلفة بحماية المستهلكين "
        "من الممارسات غير المشروعة والمضللة وغير العادلة.",
        "subject": "إن اللجنة",
    },
}


def seed_texts() -> dict[str, dict[str, dict[str, str]]]:
    """code → language → the AgencyText fields (``status`` included)."""
    texts: dict[str, dict[str, dict[str, str]]] = {"ftc": {}}
    for language, fields in _FTC.items():
        texts["ftc"][language] = {"status": UNCHECKED, **fields}
    for code, by_language in _AG_STATES.items():
        texts[code] = {}
        for language, (name, in_list, member) in by_language.items():
            texts[code][language] = {
                "name": name,
                "in_list": in_list,
                "group": AG_GROUP,
                "group_phrase": _AG_PHRASE[language],
                "group_member": member,
                "status": REVIEWED if language == "fr" else UNCHECKED,
            }
    for code, by_language in _NAMES.items():
        texts[code] = {
            language: {
                "name": name,
                "in_list": in_list,
                "status": REVIEWED if language == "fr" else UNCHECKED,
            }
            for language, (name, in_list) in by_language.items()
        }
    return texts
