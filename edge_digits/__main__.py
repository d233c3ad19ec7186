from edge_digits.cli import main

main()
