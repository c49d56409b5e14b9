{
    "name": "Benchmark baseline: a bare JSON route",
    "summary": "Used only by bench/bench.py as the baseline of webhook ingestion; "
    "never install it elsewhere.",
    "version": "19.0.1.0.0",
    "depends": ["web"],
    "license": "LGPL-3",
    "installable": True,
}
