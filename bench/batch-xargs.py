"""The xargs side of bench/batch.ts, run inside the batch worker image by `xargs -P`.

The same scoring script the batch job runs (MODELPLANE_CODE_DIR/MODELPLANE_SCORING_SCRIPT, loaded
the way templates/batch/driver.py loads it), called as a hand-written pipeline would: init() once
per process, then run([file]) for each file xargs gave this process. The rows go to stdout as CSV
in one write at exit (the processes share one output file); what the script prints goes to stderr.
"""
import contextlib
import csv
import importlib.util
import io
import os
import sys


def main(files):
    code_dir = os.environ.get("MODELPLANE_CODE_DIR", "/var/azureml-app/code")
    script = os.path.join(code_dir, os.environ.get("MODELPLANE_SCORING_SCRIPT", "score.py"))
    sys.path.insert(0, code_dir)
    spec = importlib.util.spec_from_file_location("score", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules["score"] = module
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    with contextlib.redirect_stdout(sys.stderr):
        spec.loader.exec_module(module)
        if callable(getattr(module, "init", None)):
            module.init()
        for f in files:
            writer.writerows(module.run([f]))
    sys.stdout.write(out.getvalue())
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
