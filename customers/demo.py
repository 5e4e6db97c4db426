"""Demo customers: a dozen realistic Chilean customers of the demo organization."""

from __future__ import annotations

from django.db import transaction
from stdnum.cl import rut

from cobro.demo import demo_seeder
from cobro.models import Organization

# (name, email, RUT body, phone, address, commune/city, notes)
DEMO_CUSTOMERS = [
    (
        "Camila Rojas Fuentes",
        "camila.rojas@gmail.com",
        "16543210",
        "+56 9 8123 4567",
        "Av. Providencia 2133, depto. 504",
        "Providencia",
        "",
    ),
    (
        "Matías González Soto",
        "matias.gonzalez@outlook.com",
        "17892345",
        "+56 9 7345 1122",
        "Los Leones 1450",
        "Providencia",
        "Prefers invoices by email.",
    ),
    (
        "Valentina Muñoz Araya",
        "vmunoz@yahoo.cl",
        "18234567",
        "+56 9 6677 8899",
        "Irarrázaval 3780, depto. 1201",
        "Ñuñoa",
        "",
    ),
    (
        "Benjamín Díaz Contreras",
        "benja.diaz@gmail.com",
        "19456123",
        "+56 9 9012 3344",
        "Gran Avenida José Miguel Carrera 5400",
        "San Miguel",
        "",
    ),
    (
        "Sofía Pérez Castillo",
        "sofia.perez@gmail.com",
        "15987654",
        "+56 9 5566 7788",
        "Av. Apoquindo 4499, of. 302",
        "Las Condes",
        "Corporate client.",
    ),
    (
        "Joaquín Silva Morales",
        "jsilva@empresasilva.cl",
        "14321987",
        "+56 2 2345 6789",
        "Huérfanos 1160, of. 801",
        "Santiago",
        "",
    ),
    (
        "Isidora Torres Vega",
        "isidora.torres@gmail.com",
        "20123456",
        "+56 9 4433 2211",
        "Av. Vicuña Mackenna 7110",
        "La Florida",
        "",
    ),
    (
        "Agustín Reyes Navarro",
        "agustin.reyes@hotmail.com",
        "13567890",
        "+56 9 8899 0011",
        "José Pedro Alessandri 1242",
        "Ñuñoa",
        "",
    ),
    (
        "Florencia Castro Pizarro",
        "flo.castro@gmail.com",
        "17345678",
        "+56 9 3322 1100",
        "Av. Italia 1439",
        "Providencia",
        "Birthday in March: send a coupon.",
    ),
    (
        "Panadería Los Aromos SpA",
        "contacto@losaromos.cl",
        "76543210",
        "+56 2 2890 1234",
        "Av. Pajaritos 2860",
        "Maipú",
        "Pays by bank transfer.",
    ),
    (
        "Tomás Espinoza Riquelme",
        "tomas.espinoza@gmail.com",
        "18765432",
        "+56 9 2211 0099",
        "Av. Kennedy 9001",
        "Vitacura",
        "",
    ),
    (
        "Antonia Herrera Lagos",
        "antonia.herrera@icloud.com",
        "19876543",
        "+56 9 7788 6655",
        "Pío Nono 180",
        "Recoleta",
        "",
    ),
]


@demo_seeder
def seed_customers(org: Organization) -> None:
    """Idempotent: each customer is found by email (case-insensitively) or created."""
    from customers.models import Customer
    from customers.services.customers import customer_create

    with transaction.atomic():
        for name, email, rut_body, phone, address, city, notes in DEMO_CUSTOMERS:
            if Customer.objects.filter(email__iexact=email).exists():
                continue
            customer_create(
                organization=org,
                name=name,
                email=email,
                tax_id=rut_body + rut.calc_check_digit(rut_body),
                phone=phone,
                country="CL",
                address_line1=address,
                city=city,
                region="Región Metropolitana",
                locale="es-419",
                notes=notes,
            )
