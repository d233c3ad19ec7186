

from edge_digits.cli import run

run()
