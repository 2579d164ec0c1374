"""``python -m dln_verify``: the same command line as ``dln-verify``."""

from dln_verify.verify.cli import main

if __name__ == "__main__":
    main()
