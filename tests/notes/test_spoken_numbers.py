"""Number words become digits exactly, in English and Spanish, or stay words (issue 11, item 6).

A dose is never half-converted: "ochocientos cincuenta miligramos" is "850 mg", never
"ochocientos 50 mg". Each table row is (said, written).
"""

from __future__ import annotations

import pytest
from num2words import num2words

from workers.engines.notes.local.numbers import digits

SPANISH = [
    # The doses of the issue, and the words the old converter half-converted.
    ("metformina ochocientos cincuenta miligramos", "metformina 850 mg"),
    ("doscientos cincuenta miligramos", "250 mg"),
    ("setenta y cinco miligramos", "75 mg"),
    ("losartán cincuenta miligramos al día", "losartán 50 mg al día"),
    ("amoxicilina quinientos miligramos cada ocho horas", "amoxicilina 500 mg cada 8 horas"),
    ("ibuprofeno seiscientos miligramos", "ibuprofeno 600 mg"),
    ("paracetamol mil miligramos", "paracetamol 1000 mg"),
    ("mil quinientos miligramos", "1500 mg"),
    ("dos mil miligramos", "2000 mg"),
    ("ciento veinticinco microgramos", "125 microgramos"),
    ("levotiroxina setenta y cinco microgramos", "levotiroxina 75 microgramos"),
    ("atorvastatina cuarenta miligramos por la noche", "atorvastatina 40 mg por la noche"),
    ("omeprazol veinte miligramos en ayunas", "omeprazol 20 mg en ayunas"),
    ("enalapril diez miligramos", "enalapril 10 mg"),
    ("insulina veintidós unidades", "insulina 22 unidades"),
    ("insulina veintidos unidades", "insulina 22 unidades"),
    ("dieciséis unidades", "16 unidades"),
    ("dieciseis unidades", "16 unidades"),
    ("veintitrés unidades", "23 unidades"),
    ("veintiséis años", "26 años"),
    ("treinta y cinco miligramos", "35 mg"),
    ("cuarenta y dos años", "42 años"),
    ("noventa y nueve", "99"),
    ("ciento uno", "101"),
    ("ciento veinte", "120"),
    ("trescientos", "300"),
    ("cuatrocientos ochenta", "480"),
    ("setecientos cincuenta miligramos", "750 mg"),
    ("novecientos", "900"),
    ("cien miligramos", "100 mg"),
    ("mil", "1000"),
    ("dos mil veinticuatro", "2024"),
    ("once", "11"),
    ("doce horas", "12 horas"),
    ("trece", "13"),
    ("catorce días", "14 días"),
    ("quince minutos", "15 minutos"),
    ("diecisiete", "17"),
    ("dieciocho", "18"),
    ("diecinueve", "19"),
    ("veinte", "20"),
    ("veintiuno", "21"),
    ("veintiún días", "21 días"),
    ("veinticinco", "25"),
    ("veintinueve", "29"),
    ("sesenta", "60"),
    ("ochenta y ocho", "88"),
    ("cero", "0"),
    # Decimals and halves.
    ("cero punto cinco miligramos", "0.5 mg"),
    ("cero coma cinco miligramos", "0,5 mg"),
    ("uno punto cinco miligramos", "1.5 mg"),
    ("dos punto cinco", "2.5"),
    ("cero punto veinticinco miligramos", "0.25 mg"),
    ("cero punto dos cinco miligramos", "0.25 mg"),
    ("punto cinco miligramos", "0.5 mg"),
    ("treinta y siete punto ocho grados", "37.8 grados"),
    ("dos y medio miligramos", "2.5 mg"),
    ("uno y medio comprimidos", "1.5 comprimidos"),
    ("una y media pastillas", "1.5 pastillas"),
    # Counts, ranges, frequencies, durations.
    ("una pastilla cada ocho horas", "1 pastilla cada 8 horas"),
    ("un comprimido al día", "1 comprimido al día"),
    ("dos comprimidos", "2 comprimidos"),
    ("tres veces al día", "3 veces al día"),
    ("dos veces al día durante siete días", "2 veces al día durante 7 días"),
    ("de dos a tres veces", "de 2 a 3 veces"),
    ("uno o dos comprimidos", "1 o 2 comprimidos"),
    ("una o dos pastillas", "1 o 2 pastillas"),
    ("entre cinco y diez minutos", "entre 5 y 10 minutos"),
    ("dos y tres", "2 y 3"),
    ("cada seis u ocho horas", "cada 6 u 8 horas"),
    ("durante cuatro semanas", "durante 4 semanas"),
    ("hace tres meses", "hace 3 meses"),
    ("en dos semanas", "en 2 semanas"),
    ("tiene sesenta y cinco años", "tiene 65 años"),
    ("pesa setenta kilos", "pesa 70 kilos"),
    ("fiebre de treinta y ocho grados", "fiebre de 38 grados"),
    ("diez gotas", "10 gotas"),
    ("noventa y cuatro por ciento", "94 por ciento"),
    ("cien por cien", "100 por cien"),
    ("cinco mililitros", "5 mililitros"),
    # Readings.
    ("ciento veinte sobre ochenta", "120/80"),
    ("ciento treinta y cinco sobre noventa", "135/90"),
    ("a las ocho y media", "a las 8:30"),
    ("a la una y media", "a la 1:30"),
    ("a las ocho", "a las 8"),
    # Articles, pronouns and ordinary words stay words.
    ("un paciente", "un paciente"),
    ("una mujer de cuarenta años", "una mujer de 40 años"),
    ("uno de ellos", "uno de ellos"),
    ("unos días", "unos días"),
    ("unas semanas", "unas semanas"),
    ("hace unos meses", "hace unos meses"),
    ("un poco de dolor", "un poco de dolor"),
    ("una vez", "una vez"),
    ("medio comprimido", "medio comprimido"),
    ("miles de veces", "miles de veces"),
    ("la primera vez", "la primera vez"),
    ("el segundo día", "el segundo día"),
    ("en este punto", "en este punto"),
    ("o sea", "o sea"),
    ("y luego", "y luego"),
    ("nada", "nada"),
    # A run that is not one number keeps its words: never "ocho 30" or "veinte 5".
    ("ocho treinta", "ocho treinta"),
    ("veinte cinco miligramos", "veinte cinco miligramos"),
    ("cinco cinco cero", "cinco cinco cero"),
    ("doscientos cincuenta trescientos", "doscientos cincuenta trescientos"),
    # Digits already written stay as they are.
    ("metformina 850 mg", "metformina 850 mg"),
    ("850 miligramos", "850 mg"),
    # Recognizers write digits before a scale word: the number is written whole, or as said.
    ("5 mil miligramos", "5000 mg"),
    ("1 mil quinientos miligramos", "1 mil quinientos miligramos"),
]

ENGLISH = [
    ("two hundred fifty milligrams", "250 mg"),
    ("two hundred and fifty milligrams", "250 mg"),
    ("eight hundred fifty milligrams", "850 mg"),
    ("seventy-five milligrams", "75 mg"),
    ("seventy five milligrams", "75 mg"),
    ("metformin five hundred milligrams twice a day", "metformin 500 mg twice a day"),
    ("lisinopril twenty milligrams", "lisinopril 20 mg"),
    ("ibuprofen six hundred milligrams three times a day", "ibuprofen 600 mg 3 times a day"),
    ("cyclobenzaprine ten milligrams at night", "cyclobenzaprine 10 mg at night"),
    ("atorvastatin forty milligrams", "atorvastatin 40 mg"),
    ("one thousand milligrams", "1000 mg"),
    ("fifteen hundred milligrams", "1500 mg"),
    ("one thousand five hundred milligrams", "1500 mg"),
    ("twelve hundred", "1200"),
    ("one hundred twenty-five micrograms", "125 micrograms"),
    ("levothyroxine eighty-eight micrograms", "levothyroxine 88 micrograms"),
    ("twenty-two units of insulin", "22 units of insulin"),
    ("sixteen units", "16 units"),
    ("thirty-six units", "36 units"),
    ("ninety-nine", "99"),
    ("one hundred and one", "101"),
    ("one hundred", "100"),
    ("three hundred", "300"),
    ("nine hundred", "900"),
    ("two thousand", "2000"),
    ("two thousand twenty-four", "2024"),
    ("zero", "0"),
    ("eleven", "11"),
    ("twelve weeks", "12 weeks"),
    ("thirteen", "13"),
    ("fourteen days", "14 days"),
    ("fifteen minutes", "15 minutes"),
    ("seventeen", "17"),
    ("eighteen", "18"),
    ("nineteen", "19"),
    ("twenty", "20"),
    ("twenty-one", "21"),
    ("forty-two year old", "42 year old"),
    ("a fifty-six-year-old male", "a 56-year-old male"),
    ("sixty", "60"),
    ("eighty", "80"),
    # Decimals and halves.
    ("point five milligrams", "0.5 mg"),
    ("zero point five milligrams", "0.5 mg"),
    ("one point five milligrams", "1.5 mg"),
    ("two point five", "2.5"),
    ("zero point two five milligrams", "0.25 mg"),
    ("point one two five milligrams", "0.125 mg"),
    ("ninety-eight point six degrees", "98.6 degrees"),
    ("one and a half tablets", "1.5 tablets"),
    ("two and a half weeks", "2.5 weeks"),
    ("seven point two", "7.2"),
    # Counts, ranges, frequencies, durations.
    ("one tablet twice a day", "1 tablet twice a day"),
    ("take one pill at night", "take 1 pill at night"),
    ("one capsule", "1 capsule"),
    ("two puffs", "2 puffs"),
    ("two tablets", "2 tablets"),
    ("three times a day", "3 times a day"),
    ("two to three times a day", "2 to 3 times a day"),
    ("one to two tablets", "1 to 2 tablets"),
    ("one or two drinks", "1 or 2 drinks"),
    ("five or six beers", "5 or 6 beers"),
    ("two and three", "2 and 3"),
    ("for four weeks", "for 4 weeks"),
    ("three months ago", "3 months ago"),
    ("in two weeks", "in 2 weeks"),
    ("about ten pounds", "about 10 pounds"),
    ("a fever of one hundred and one", "a fever of 101"),
    ("pain is a seven out of ten", "pain is a 7 out of 10"),
    ("three out of six murmur", "3 out of 6 murmur"),
    ("two kids", "2 kids"),
    ("four drops", "4 drops"),
    ("five milliliters", "5 milliliters"),
    ("oxygen saturation is ninety-seven percent", "oxygen saturation is 97 percent"),
    # Readings.
    ("one twenty over eighty", "120/80"),
    ("one thirty-five over eighty-five", "135/85"),
    ("one hundred and twenty over eighty", "120/80"),
    ("blood pressure one forty over ninety", "blood pressure 140/90"),
    ("120 over 80", "120/80"),
    # Articles, pronouns and ordinary words stay words.
    ("one of them", "one of them"),
    ("one of the reasons", "one of the reasons"),
    ("no one", "no one"),
    ("no one to blame", "no one to blame"),
    ("the other one", "the other one"),
    ("that one", "that one"),
    ("one day I was walking", "one day I was walking"),
    ("a one-time thing", "a one-time thing"),
    ("the good ones", "the good ones"),
    ("hundreds of times", "hundreds of times"),
    ("once a day", "once a day"),
    ("twice a day", "twice a day"),
    ("a couple of days", "a couple of days"),
    ("a few weeks", "a few weeks"),
    ("half a tablet", "half a tablet"),
    ("the first time", "the first time"),
    ("the second visit", "the second visit"),
    ("at this point", "at this point"),
    ("point to where it hurts", "point to where it hurts"),
    ("someone", "someone"),
    ("anyone", "anyone"),
    ("often", "often"),
    ("o'clock", "o'clock"),
    # A run that is not one number keeps its words: never "eight 30".
    ("eight thirty", "eight thirty"),
    ("twenty twenty", "twenty twenty"),
    ("five five zero", "five five zero"),
    ("two hundred fifty three hundred", "two hundred fifty three hundred"),
    # Digits already written stay as they are.
    ("metformin 850 mg", "metformin 850 mg"),
    ("500 milligrams", "500 mg"),
    # Recognizers write digits before a scale word ("5 hundred"): never "5 100 mg". The number
    # is written whole, or as said when more of it follows in digits or words.
    ("take 5 hundred milligrams", "take 500 mg"),
    ("2 hundred mg twice", "200 mg twice"),
    ("a hundred milligrams", "100 mg"),
    ("25 thousand units", "25000 units"),
    ("3 hundred and 25 mg", "3 hundred and 25 mg"),
    ("1 thousand 5 hundred units", "1 thousand 5 hundred units"),
]


def test_each_table_has_at_least_100_cases() -> None:
    assert len(SPANISH) >= 100
    assert len(ENGLISH) >= 100


@pytest.mark.parametrize(("said", "written"), SPANISH)
def test_spanish_number_words(said: str, written: str) -> None:
    assert digits(said, "es") == written


@pytest.mark.parametrize(("said", "written"), ENGLISH)
def test_english_number_words(said: str, written: str) -> None:
    assert digits(said, "en") == written


# Every value a dose or a reading can take, spelled by num2words (the other direction),
# must come back as exactly that value.
VALUES = [*range(2, 130), 150, 175, 200, 250, 325, 400, 450, 500, 625, 750, 850, 875, 1000, 1500]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize(("language", "unit"), [("es", "miligramos"), ("en", "milligrams")])
def test_spelled_values_come_back_exactly(value: int, language: str, unit: str) -> None:
    spelled = num2words(value, lang=language)
    assert digits(f"tome {spelled} {unit}", language) == f"tome {value} mg"


def test_a_dose_inside_a_sentence_is_converted_whole() -> None:
    said = "le voy a dar metformina ochocientos cincuenta miligramos dos veces al día"
    assert digits(said, "es") == "le voy a dar metformina 850 mg 2 veces al día"
