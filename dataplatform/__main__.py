from dataplatform.local.cli import main

main()
