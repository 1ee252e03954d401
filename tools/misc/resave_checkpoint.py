"""Re-save a TRUSTED checkpoint so that mmris can load it with ``weights_only=True``.

    python tools/misc/resave_checkpoint.py SRC DST --trust-source [--drop KEY ...]

mmris refuses checkpoints that name globals which could run code when unpickled, e.g. one saved
by plain mmengine (without mmris imported), whose ``HistoryBuffer`` statistics functions
unpickle through ``builtins.getattr`` (see ``mmris/utils/checkpoint.py``). If, and only if, you
trust where SRC comes from, this tool loads it once with ``weights_only=False`` (which runs any
code in it), re-saves every top-level key (``state_dict``, ``meta``, ``optimizer``,
``param_schedulers``, ``message_hub``, ...) as plain data and checks that DST loads with
``weights_only=True``.

Without ``--trust-source`` it only tries the safe load: it reports whether SRC already loads
(nothing to do) or which globals are refused, and writes nothing.
"""
import argparse
import sys

from mmris.utils.checkpoint import (CheckpointReadError, UnsafeCheckpointError,
                                    load_checkpoint_file, resave_trusted_checkpoint)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Re-save a trusted checkpoint as plain data (loads with weights_only=True)')
    parser.add_argument('src', help='the checkpoint to re-save')
    parser.add_argument('dst', help='where to write the copy')
    parser.add_argument('--trust-source', action='store_true',
                        help='load SRC with weights_only=False, which runs any code it holds: '
                        'only for files whose source you trust')
    parser.add_argument('--drop', nargs='+', default=[], metavar='KEY',
                        help='top-level keys to leave out of the copy')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if not args.trust_source:
        try:
            load_checkpoint_file(args.src, map_location='cpu')
        except (UnsafeCheckpointError, CheckpointReadError, FileNotFoundError) as e:
            print(f'error: {e}', file=sys.stderr)
            if isinstance(e, UnsafeCheckpointError):
                print(f'Nothing was loaded or written. Re-run with --trust-source only if you '
                      f'trust where {args.src} comes from.', file=sys.stderr)
            return 1
        print(f'{args.src} already loads with weights_only=True: nothing to do, nothing '
              f'written.')
        return 0
    try:
        keys = resave_trusted_checkpoint(args.src, args.dst, drop=args.drop)
    except (UnsafeCheckpointError, CheckpointReadError, FileNotFoundError, KeyError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'wrote {args.dst} (keys: {", ".join(keys)}); it loads with weights_only=True.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
