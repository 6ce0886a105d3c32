# Generated from book/390-deployment.nw; edit the book, not this file.
# Generated from book/390-deployment.nw; edit the book, not this file.
"""onnx_run.py numpy|onnxruntime MODEL TOKEN...: check an ONNX file with
the ONNX checker, run it on the tokens, print its logits one per line.
Exit status 3: the Python packages it needs are not installed."""
import sys

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as missing:
    print(f"no onnx or numpy in this Python: {missing}")
    sys.exit(3)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layer_norm(x, w, b, axis, epsilon):
    mean = x.mean(axis=axis, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axis, keepdims=True)
    return (x - mean) / np.sqrt(var + epsilon) * w + b


OPERATORS = {
    "Gather": lambda a, x, i: np.take(x, i, axis=a.get("axis", 0)),
    "Add": lambda a, x, y: x + y,
    "Mul": lambda a, x, y: x * y,
    "MatMul": lambda a, x, y: np.matmul(x, y),
    "Tanh": lambda a, x: np.tanh(x),
    "Transpose": lambda a, x: np.transpose(x, a["perm"]),
    "Reshape": lambda a, x, shape: x.reshape(shape),
    "Softmax": lambda a, x: softmax(x, a.get("axis", -1)),
    "LayerNormalization": lambda a, x, w, b: layer_norm(
        x, w, b, a.get("axis", -1), a.get("epsilon", 1e-5)),
}
# Generated from book/390-deployment.nw; edit the book, not this file.
def run_numpy(model, tokens):
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    values[model.graph.input[0].name] = tokens
    for node in model.graph.node:
        if node.op_type not in OPERATORS:
            sys.exit(f"onnx_run.py: no operator {node.op_type}")
        attributes = {a.name: onnx.helper.get_attribute_value(a)
                      for a in node.attribute}
        inputs = [values[name] for name in node.input]
        values[node.output[0]] = OPERATORS[node.op_type](attributes, *inputs)
    return values[model.graph.output[0].name]


def run_onnxruntime(path, model, tokens):
    try:
        import onnxruntime
    except ImportError:
        print("no onnxruntime in this Python")
        sys.exit(3)
    session = onnxruntime.InferenceSession(path)
    return session.run(None, {model.graph.input[0].name: tokens})[0]


def main():
    runtime, path, tokens = sys.argv[1], sys.argv[2], sys.argv[3:]
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    tokens = np.array([int(t) for t in tokens], dtype=np.int64)
    logits = (run_numpy(model, tokens) if runtime == "numpy"
              else run_onnxruntime(path, model, tokens))
    print("checked")
    for v in np.asarray(logits, dtype=np.float32).ravel():
        print(f"{v:.9g}")


main()
