"""Seed an automx2 SQLite database with the same data bench/autoconfig_server.rs builds:
DOMAINS domains d0.bench.example.. with IMAP 993, POP3 995 and SMTP 465 (TLS).
Usage: AUTOMX2_CONF=... seed_automx2.py DOMAINS"""
import sys

from automx2.model import Base, Domain, Provider, Server, db
from automx2.server import app

count = int(sys.argv[1])
with app.app_context():
    Base.metadata.create_all(db.engine)
    session = db.session
    servers = [
        Server(prio=10, name="mail.bench.example", port=993, type="imap", socket_type="SSL", authentication="plain"),
        Server(prio=10, name="mail.bench.example", port=995, type="pop", socket_type="SSL", authentication="plain"),
        Server(prio=10, name="mail.bench.example", port=465, type="smtp", socket_type="SSL", authentication="plain"),
    ]
    session.add_all(servers)
    # One provider per domain: automx2 lists every domain of a provider in each autoconfig
    # answer, so a single shared provider would make its answers grow with the domain count.
    for i in range(count):
        provider = Provider(name="Bench Mail", short_name="Bench")
        session.add(Domain(name=f"d{i}.bench.example", provider=provider, servers=servers))
    session.commit()
