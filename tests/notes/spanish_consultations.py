"""Short Spanish consultations written for these tests (not from any data set), each with
the facts its note must carry exactly: drugs, doses, frequencies, durations, follow-up.

Numbers are spelled out as a speech recognizer writes them, so the note must turn them into
the exact digits ("ochocientos cincuenta miligramos" -> "850 mg").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Consultation:
    name: str
    dialogue: str
    #: Text the note must hold, each exactly as written here.
    facts: tuple[str, ...]


CONSULTATIONS = (
    Consultation(
        "diabetes",
        """\
Médico: Buenos días, ¿qué le trae por aquí?
Paciente: Tengo mucha sed y orino mucho desde hace tres semanas.
Médico: Su glucosa en ayunas es de ciento ochenta y dos.
Médico: Vamos a empezar metformina ochocientos cincuenta miligramos cada doce horas con la comida.
Médico: Nos vemos en cuatro semanas con análisis de sangre.
""",
        ("3 semanas", "182", "metformina 850 mg cada 12 horas", "en 4 semanas"),
    ),
    Consultation(
        "hipertension",
        """\
Médico: ¿Cómo se ha sentido?
Paciente: Tengo dolor de cabeza por las mañanas desde hace dos semanas.
Médico: Su presión arterial es de ciento cincuenta y cinco sobre noventa y cinco.
Médico: Le voy a recetar losartán cincuenta miligramos una vez al día.
Médico: Vuelva a control en dos semanas.
""",
        ("2 semanas", "155/95", "losartán 50 mg una vez al día", "en 2 semanas"),
    ),
    Consultation(
        "infeccion_urinaria",
        """\
Paciente: Me arde al orinar desde hace dos días.
Médico: ¿Tiene fiebre?
Paciente: No.
Médico: Le voy a recetar nitrofurantoína cien miligramos cada doce horas durante cinco días.
Médico: Si no mejora en setenta y dos horas, vuelva a consulta.
""",
        ("2 días", "nitrofurantoína 100 mg cada 12 horas durante 5 días", "72 horas"),
    ),
    Consultation(
        "dolor_lumbar",
        """\
Paciente: Me duele la espalda baja desde hace diez días, después de cargar una caja.
Médico: A la exploración hay dolor en la zona lumbar derecha.
Médico: Tome ibuprofeno seiscientos miligramos cada ocho horas durante siete días.
Médico: Le voy a enviar a fisioterapia y nos vemos en tres semanas.
""",
        ("10 días", "derecha", "ibuprofeno 600 mg cada 8 horas durante 7 días", "en 3 semanas"),
    ),
    Consultation(
        "faringitis",
        """\
Paciente: Tengo dolor de garganta y fiebre de treinta y ocho punto cinco desde ayer.
Médico: La faringe está enrojecida con placas.
Médico: Le voy a recetar amoxicilina quinientos miligramos cada ocho horas durante diez días.
Médico: También puede tomar paracetamol un gramo cada ocho horas si tiene fiebre.
""",
        ("38.5", "amoxicilina 500 mg cada 8 horas durante 10 días", "paracetamol 1 gramo"),
    ),
    Consultation(
        "hipotiroidismo",
        """\
Paciente: Estoy muy cansada y tengo frío todo el tiempo desde hace dos meses.
Médico: Su TSH es de nueve punto dos.
Médico: Vamos a empezar levotiroxina setenta y cinco microgramos en ayunas.
Médico: Repetimos el análisis en seis semanas.
""",
        ("2 meses", "9.2", "levotiroxina 75 microgramos en ayunas", "en 6 semanas"),
    ),
    Consultation(
        "colesterol",
        """\
Médico: Su colesterol LDL es de ciento sesenta y ocho.
Paciente: Mi padre tuvo un infarto a los cincuenta y dos años.
Médico: Le voy a recetar atorvastatina cuarenta miligramos por la noche.
Médico: Control en tres meses con perfil de lípidos.
""",
        ("168", "52 años", "atorvastatina 40 mg por la noche", "en 3 meses"),
    ),
    Consultation(
        "asma",
        """\
Paciente: Me falta el aire cuando subo escaleras desde hace un mes y toso por la noche.
Médico: Hay sibilancias en ambos pulmones y la saturación es de noventa y cuatro por ciento.
Médico: Use salbutamol dos inhalaciones cada seis horas si tiene falta de aire.
Médico: Nos vemos en quince días.
""",
        ("94 por ciento", "salbutamol 2 inhalaciones cada 6 horas", "en 15 días"),
    ),
    Consultation(
        "gastritis",
        """\
Paciente: Tengo ardor en el estómago después de comer desde hace tres semanas.
Médico: Le duele al presionar el epigastrio.
Médico: Tome omeprazol veinte miligramos en ayunas durante cuatro semanas.
Médico: Si no mejora, vuelva en un mes.
""",
        ("3 semanas", "omeprazol 20 mg en ayunas durante 4 semanas", "en un mes"),
    ),
    Consultation(
        "insulina",
        """\
Paciente: Me pongo veintidós unidades de insulina glargina por la noche.
Médico: Su hemoglobina glicosilada es de ocho punto cuatro.
Médico: Vamos a subir la insulina glargina a veintiséis unidades por la noche.
Médico: Mida su glucosa dos veces al día y nos vemos en dieciséis días.
""",
        ("22 unidades", "8.4", "26 unidades", "2 veces al día", "en 16 días"),
    ),
    Consultation(
        "anticoagulacion",
        """\
Paciente: Tengo la pierna izquierda hinchada y me duele desde hace cuatro días.
Médico: La ecografía muestra una trombosis venosa profunda en la pierna izquierda.
Médico: Vamos a empezar rivaroxabán quince miligramos dos veces al día durante veintiún días.
Médico: Después seguirá con veinte miligramos una vez al día y control en tres semanas.
""",
        ("4 días", "izquierda", "rivaroxabán 15 mg 2 veces al día durante 21 días", "20 mg"),
    ),
    Consultation(
        "dosis_decimal",
        """\
Paciente: Tomo warfarina y me sangran las encías desde hace una semana.
Médico: Su INR es de cuatro punto dos.
Médico: Vamos a bajar la dosis de warfarina a dos y medio miligramos al día.
Médico: Repetimos el INR en cinco días.
""",
        ("4.2", "warfarina a 2.5 mg al día", "en 5 días"),
    ),
)
