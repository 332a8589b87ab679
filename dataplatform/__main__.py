from dataplatform.cli import main

main()
