import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # frozen builds re-execute the binary for worker processes
    from htrgui.__main__ import main

    sys.exit(main())
