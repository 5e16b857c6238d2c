from interchange.cli.main import main

main()
