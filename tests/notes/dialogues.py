"""Small consultations written for these tests (not from any data set)."""

from __future__ import annotations

KNEE = """\
Doctor: Good morning, Mrs. Lopez. What brings you in today?
Patient: My right knee has been hurting for about 3 weeks, since I slipped on the stairs.
Doctor: Any fever or chills?
Patient: No.
Doctor: Any chest pain?
Patient: No, none at all.
Doctor: Any swelling in the knee?
Patient: Yes, it swells up in the evening.
Patient: I have been taking ibuprofen 400 mg twice a day and it helps a little.
Doctor: On exam, your blood pressure is 132/84 and your heart rate is 76.
Doctor: There is tenderness along the medial joint line and a small effusion of the right knee.
Doctor: The x-ray of the right knee shows no fracture.
Doctor: I think you have a medial meniscus sprain.
Doctor: I'm going to prescribe naproxen 500 mg twice a day with food.
Doctor: And we will refer you to physical therapy.
Doctor: We'll follow up in 4 weeks.
Patient: Okay, that sounds good.
"""

UNLABELLED = """\
What brings you in today?
I've had a cough for 2 weeks and I get short of breath when I climb stairs.
Any fever?
No.
Your oxygen saturation is 97% and your lungs have wheezing on the left.
I'm going to start you on albuterol 2 puffs every 4 hours as needed.
"""

SPANISH = """\
Médico: Buenos días, ¿qué le trae por aquí?
Paciente: Tengo dolor de cabeza desde hace 5 días y me duele más por la mañana.
Médico: ¿Ha tenido fiebre?
Paciente: No.
Médico: ¿Algún vómito?
Paciente: No, nada.
Paciente: Estoy tomando paracetamol 1 g cada 8 horas.
Médico: En la exploración, la presión arterial es de 150/95 y la temperatura de 36,8.
Médico: Creo que es una cefalea tensional.
Médico: Vamos a indicar ibuprofeno 600 mg cada 8 horas y control en dos semanas.
Médico: ¿Le duele el pecho?
Paciente: No.
Médico: Vamos a pedir una analítica con hemograma.
Médico: Le recomiendo descansar y beber dos litros de agua al día.
Médico: ¿Le parece bien?
Paciente: Sí, de acuerdo.
"""

# ACI-Bench style ASR output: inline markers, lower case, no punctuation, numbers in words.
ASR = (
    "[doctor] hi mister green how are you doing today [patient] i'm okay my back has been"
    " hurting for about two weeks now since i lifted a heavy box at work"
    " [doctor] okay do you have any numbness or tingling in your legs [patient] no"
    " [doctor] okay and any fever [patient] no"
    " [doctor] okay so on exam you have tenderness over the lower lumbar spine and your"
    " blood pressure is one twenty over eighty"
    " [doctor] okay so i think you have a lumbar strain i'm going to prescribe cyclobenzaprine"
    " ten milligrams at night and i want you to take ibuprofen six hundred milligrams three"
    " times a day with food does that sound good [patient] yes that sounds good"
)
