"""What the tests (tests/fixtures/) and the benchmarks (bench/) both run against, in one
home that both may import: a small HTTP server on a free port of 127.0.0.1
(server.py), `chatcrm run` processes behind a round-robin front (cluster.py), and
Telegram's limits as a Bot API stand-in enforces them (limits.py).

Nothing of the product (bot/, handlers/, notifications/, crm/) imports this package, and
it imports nothing from tests/ or bench/.
"""
