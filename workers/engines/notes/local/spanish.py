"""Spanish: word lists for notes when the request's language starts with "es"."""

from __future__ import annotations

import re

from .lexicon import ASSESSMENT, EXAM, HPI, PLAN, RESULTS, ROS, Lexicon

#: Words after which "de acuerdo" is what was said ("estoy de acuerdo"), not a closer.
_CLOSER_KEEPERS = "es está estoy están estamos estás muy tan más algo todo lo fue sea esté"

#: Words after which a verb of ``third_person`` is a noun ("mi trabajo", "el camino"). Not
#: "la"/"lo"/"las"/"los": before a verb they are pronouns ("lo tomo").
_KEEP_AFTER = """
el un una unos unas mi mis tu tus su sus del al este esta estos estas ese esa esos esas
nuestro nuestra nuestros nuestras buen mal primer de con sin por para
"""

#: The side after the part that hurts ("dolor de rodilla izquierda"): a complaint keeps it.
_SIDE = r"(?: (?:del lado |de lado )?(?:derech|izquierd)[oa]s?)?"
#: The part that hurts, never a word that names nothing ("me duele desde hace cuatro días"
#: is no "dolor de desde").
_PART = (
    r"(?!(?:desde|hace|mucho|mucha|muchísimo|poco|cuando|más|menos|bastante|también|siempre"
    r"|todo|toda|aquí|ahí|allí|al|a|en|por|para|si|ya|un|una|y|o|que|de|con|sin|cada|casi|muy"
    r"|tanto|ahora|hoy|ayer|nada|algo|bien|mal|mi|mis|tu|tus|su|sus|este|esta|ambas|ambos|dos"
    r"|sobre|como|solo|sólo|todavía|fuerte|la|el|los|las|lo)\b)[^\W\d_]+"
)

_ES_CUES: dict[str, tuple[str, ...]] = {
    EXAM: (
        "exploración",
        "examen físico",
        "presión arterial",
        "tensión",
        "frecuencia cardiaca",
        "frecuencia cardíaca",
        "temperatura",
        "saturación",
        "pulmones",
        "auscultación",
        "soplo",
        "dolor a la palpación",
        "palpación",
        "al presionar",
        "exploración",
        "edema",
        "hinchazón",
        "abdomen",
        "reflejos",
        "escucho",
        "noto",
        "veo",
    ),
    RESULTS: (
        "radiografía",
        "resonancia",
        "tomografía",
        "ecografía",
        "ecocardiograma",
        "electrocardiograma",
        "análisis",
        "analítica",
        "laboratorio",
        "resultados",
        "hemoglobina",
        "colesterol",
        "glucosa",
        "tsh",
        "inr",
        "saturación",
        "presión arterial",
        "mostró",
        "muestra",
    ),
    ASSESSMENT: (
        "diagnóstico",
        "creo que",
        "parece",
        "probablemente",
        "compatible con",
        "usted tiene",
        "tiene una",
        "tiene un",
        "años",
    ),
    PLAN: (
        "plan",
        "vamos a",
        "voy a",
        "le voy a",
        "recetar",
        "receta",
        "indicar",
        "tome",
        "tomar",
        "mg",
        "miligramos",
        "cada",
        "al día",
        "diario",
        "control",
        "volver",
        "vuelva",
        "nos vemos",
        "repetimos",
        "si no mejora",
        "días",
        "semanas",
        "derivar",
        "pedir",
        "continuar",
        "seguir",
        "aumentar",
        "suspender",
    ),
    ROS: (
        "fiebre",
        "escalofríos",
        "náuseas",
        "vómitos",
        "diarrea",
        "dolor de pecho",
        "dolor en el pecho",
        "falta de aire",
        "tos",
        "dolor de cabeza",
        "mareo",
        "mareos",
        "cansancio",
        "peso",
        "sueño",
        "apetito",
    ),
    HPI: (
        "dolor",
        "duele",
        "empezó",
        "desde",
        "hace",
        "días",
        "semanas",
        "meses",
        "tomando",
        "tomo",
        "medicamento",
        "peor",
        "mejor",
        "siento",
        "tengo",
        "he tenido",
    ),
}

#: Pronouns and times a reason for the visit is never made of alone ("viene por eso").
NOT_A_REASON = """
eso esto ello ella ellas ellos usted ustedes esta este mí hoy ayer ahora año años mes meses
semana semanas día días antes después mañana tarde noche vez tiempo pasado pasada próximo
próxima último última
"""

ES = Lexicon(
    language="es",
    fillers=(
        "eh",
        "em",
        "mmm",
        "este",
        "o sea",
        "pues",
        "bueno",
        "vale",
        "sí",
        "ok",
        "okey",
        "claro",
        "mire",
        "a ver",
        "entonces",
    ),
    empty_sentences=frozenset(
        {
            "hola",
            "buenos días",
            "buenas tardes",
            "buenas noches",
            "gracias",
            "muchas gracias",
            "de nada",
            "adiós",
            "hasta luego",
            "perfecto",
            "muy bien",
            "bien",
            "no",
            "de acuerdo",
            "entendido",
            "correcto",
            "exacto",
        }
    ),
    transitions=(
        "vamos a explorar",
        "le voy a explorar",
        "voy a revisar",
        "vamos a ver",
        "le voy a explicar",
        "hablemos de",
    ),
    complaints=(
        # "dolor en mi rodilla izquierda" -> "Dolor en rodilla izquierda." (no "mi" in a note)
        (
            re.compile(
                rf"\b(dolor|ardor) (de|en) (?:mi|mis|su|sus) ({_PART}{_SIDE})", re.IGNORECASE
            ),
            r"\1 \2 \3",
        ),
        (
            re.compile(
                rf"\b((?:dolor|ardor) (?:de|en) (?:la |el |los |las )?{_PART}{_SIDE}"
                r"|fiebre|tos|mareos?|sangrado|náuseas|vómitos|diarrea|falta de aire"
                r"|ardor al orinar|cansancio|picor|hinchazón)\b",
                re.IGNORECASE,
            ),
            r"\1",
        ),
        (re.compile(r"\b(?:me|le) falta el aire\b", re.IGNORECASE), "falta de aire"),
        (re.compile(r"\b(?:me|le) arde al orinar\b", re.IGNORECASE), "ardor al orinar"),
        (re.compile(r"\bmucha sed\b", re.IGNORECASE), "sed"),
        (
            re.compile(
                rf"\b(?:tengo|tiene) (?:la |el |los |las )?({_PART}{_SIDE}) hinchad[oa]s?\b",
                re.IGNORECASE,
            ),
            r"hinchazón de \1",
        ),
        (
            re.compile(rf"\b(?:me|le) sangran? (?:la |el |los |las )?({_PART})", re.IGNORECASE),
            r"sangrado de \1",
        ),
        (re.compile(r"\b(?:estoy|está) (?:muy )?cansad[oa]\b", re.IGNORECASE), "cansancio"),
        (
            re.compile(
                rf"\bme duelen? (?:la |el |los |las |mi |mis )?({_PART}{_SIDE})", re.IGNORECASE
            ),
            r"dolor de \1",
        ),
    ),
    cues=_ES_CUES,
    no_answers=("no", "nunca", "nada", "para nada", "ninguno", "ninguna"),
    yes_answers=("sí", "si", "a veces", "un poco", "claro"),
    hedges=("pero", "a veces", "excepto", "quizás", "quizá", "no sé", "no estoy seguro"),
    question_openers=(
        "ha tenido",
        "ha notado",
        "tiene usted",
        "tiene",
        "algún",
        "alguna",
        "algo de",
        "y",
        "o",
    ),
    finding_rewrites={
        "le duele": "dolor en",
        "le duelen": "dolor en",
        "le pica": "picor en",
        "se ha sentido": "sentirse",
        "se siente": "sentirse",
    },
    third_person={
        "yo": "",
        "tengo": "tiene",
        "estoy": "está",
        "soy": "es",
        "he": "ha",
        "me duele": "le duele",
        "me duelen": "le duelen",
        "me pongo": "se pone",
        "me tomo": "se toma",
        "me inyecto": "se inyecta",
        "me pincho": "se pincha",
        "me aplico": "se aplica",
        "me siento": "se siente",
        "me": "le",
        "mi": "su",
        "mis": "sus",
        "tomo": "toma",
        "siento": "siente",
        "puedo": "puede",
        "hago": "hace",
        "voy": "va",
        "quiero": "quiere",
        "necesito": "necesita",
        "trabajo": "trabaja",
        "duermo": "duerme",
        # Not "como": far more often "like" than "I eat" ("me siento como si ...").
        "noto": "nota",
        "creo": "cree",
        "toso": "tose",
        "orino": "orina",
        "subo": "sube",
        "respiro": "respira",
        "vomito": "vomita",
        "bebo": "bebe",
        "fumo": "fuma",
        "camino": "camina",
        "sudo": "suda",
        "sangro": "sangra",
        "veo": "ve",
        "oigo": "oye",
        "salgo": "sale",
        "uso": "usa",
        "me mareo": "se marea",
        "me canso": "se cansa",
        "me levanto": "se levanta",
        "me despierto": "se despierta",
        "me ahogo": "se ahoga",
    },
    keep_after=frozenset(_KEEP_AFTER.split()),
    negations=frozenset(("no", "nunca", "ni", "sin", "niega", "tampoco", "jamás")),
    spoken={"pa'": "para"},
    openers=("y", "pero", "pues", "entonces", "también", "o"),
    commands=(),
    inner_questions=("ha tenido", "ha notado", "le duele", "tiene usted", "qué", "cuánto"),
    trailing_questions=("qué le trae", "en qué le puedo ayudar", "alguna pregunta", "tiene alguna"),
    breaks=("bueno", "vale", "entonces", "pues", "y luego", "eh", "mire", "a ver"),
    question_starts=(
        "ha",
        "tiene",
        "le",
        "está",
        "es",
        "qué",
        "cómo",
        "cuándo",
        "dónde",
        "por qué",
        "cuánto",
        "cuántos",
        "algún",
        "alguna",
        "puede",
    ),
    denies="Niega {}.",
    denies_short="Niega {}.",
    reports_short="Refiere {}.",
    plan_checks=("le parece", "de acuerdo", "alguna pregunta", "alguna duda", "está bien así"),
    question_checks=("pregunta", "duda"),
    assent=("sí", "si", "vale", "de acuerdo", "claro", "perfecto", "muy bien", "bien", "bueno"),
    agrees="El paciente entiende y está de acuerdo con el plan propuesto.",
    reports="Refiere {}.",
    female=("ella", "señora", "femenina", "mujer", "sra", "la paciente"),
    male=("él", "señor", "masculino", "hombre", "sr", "el paciente"),
    not_a_reason=frozenset(NOT_A_REASON.split()),
    closers=("vale", "de acuerdo", "okey"),
    closer_keepers=frozenset(_CLOSER_KEEPERS.split()),
)
