"""`python -m federation.cli`: the same command as `federation`."""

from federation.cli import main

if __name__ == "__main__":
    main()
