"""The dispatcher bench (`python -m bench.bench_dispatcher`: that module's docstring says
what it measures and prints), by concern:

- network.py   the Bot session that answers every Bot API call in memory;
- world.py     the personas of the demo data, the FSM storage, the floor dispatchers;
- mixes.py     the updates of each case and the weights of bench_load's mix;
- measuring.py updates fed in lanes, timed in wall and CPU time, SQL counted;
- checks.py    the work verified afterwards (answers, stage changes, written rows);
- profiling.py `--profile`: CPU by package and function, SQL by wall time;
- cli.py       the run per database, the printed figures, issue 16's guards.

Other benches drive the same way: bench_business (network, measuring, profiling) and
bench_load's world (the personas and their deal moves).
"""
