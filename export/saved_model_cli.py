"""TensorFlow's `saved_model_cli` with tensorflow-text's ops registered, for mtdnn-keras
SavedModel exports: the text signatures (and so loading the graph at all, for `run`) need
them, and the stock command cannot import them.

    python -m mtdnn_keras.export.saved_model_cli show --dir exports/serving/glue6/1 --all
    python -m mtdnn_keras.export.saved_model_cli run --dir exports/serving/glue6/1 \
        --tag_set serve --signature_def sst2_text --input_exprs 'text_a=[b"a gripping film"]'

Without mtdnn-keras installed, the same in one line:
`python -c "import sys, tensorflow_text; from tensorflow.python.tools import saved_model_cli as c; sys.argv[0] = 'saved_model_cli'; c.main()" run ...`
"""

import sys

import tensorflow_text  # noqa: F401  (registers the ops before the graph is loaded)
from tensorflow.python.tools import saved_model_cli


def main() -> None:
    sys.argv[0] = "saved_model_cli"
    saved_model_cli.main()


if __name__ == "__main__":
    main()
