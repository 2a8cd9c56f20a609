from forno.cli import main

main()
