"""Run a submission's computations and send back plain arrays: the untrusted side of grading.

The judge starts this file as a script, only ever inside `grader.sandbox`:

    python -I -S worker.py REQUEST_FD RESPONSE_FD LIB_DIR SUBMISSION_DIR PROCESS_LIMIT

It imports the student's `toolbox` and `nn`, then answers requests (one JSON
line each, read from REQUEST_FD) with one JSON line each on RESPONSE_FD. Each
request (one check) is answered by a fresh fork, so a check's code cannot
change what the next check runs; a seccomp filter keeps it from starting
processes or threads.
The protocol has its own file descriptors so that whatever the student's code
prints (stdout and stderr go to /dev/null) cannot pass for an answer.
Arrays travel as dtype + shape + base64 bytes: nothing is ever unpickled, so
nothing the student returns runs code in the judge. The worker decides
nothing: it reports what the student's code computed, and the judge compares.

The judge imports this module too: `evaluate` is the one definition of what a
case computes (the judge runs it on `toolbox_solution` for expected values)
and `encode_array` / `decode_array` are the one definition of the wire format.
"""
import base64
import json
import operator
import os
import reprlib
import select
import sys
import traceback

if __name__ == "__main__":
    # The process limit, where the judge asks for one (see grader.sandbox.Sandbox.process_limit):
    # set here, inside bubblewrap's user namespace, not on bubblewrap itself.
    import resource
    wanted, hard = int(sys.argv[5]), resource.getrlimit(resource.RLIMIT_NPROC)[1]
    if wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)  # a hard limit cannot be raised
        resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    # Before importing numpy: in the sandbox it lives in LIB_DIR, and -I -S gave no search path.
    # The submission comes last, so no file in it can stand in for a module numpy or Python imports.
    sys.dont_write_bytecode = True
    sys.path.insert(0, sys.argv[3])
    sys.path.append(sys.argv[4])

import numpy as np

WIRE_DTYPES = ("float64", "int64")


class ProtocolError(ValueError):
    """Something on the wire is not what the protocol allows."""


def encode_array(array):
    """A JSON-ready description of a float64 or int64 array."""
    array = np.asarray(array, order="C")
    return {
        "dtype": array.dtype.name,
        "shape": list(array.shape),
        "data": base64.b64encode(array.astype(array.dtype.newbyteorder("<")).tobytes()).decode("ascii"),
    }


def decode_array(obj, dtypes=WIRE_DTYPES):
    """The array described by `obj`, refusing anything but an exact, well-formed description."""
    if not isinstance(obj, dict) or set(obj) != {"dtype", "shape", "data"}:
        raise ProtocolError(f"expected an array (dtype, shape, data), got {type(obj).__name__}")
    dtype, shape, data = obj["dtype"], obj["shape"], obj["data"]
    if dtype not in dtypes:
        raise ProtocolError(f"array dtype must be one of {dtypes}, got {reprlib.repr(dtype)}")
    if not isinstance(shape, list) or len(shape) > 32 or not all(type(n) is int and 0 <= n < 2**31 for n in shape):
        raise ProtocolError(f"array shape must be a list of at most 32 sizes, got {reprlib.repr(shape)}")
    if not isinstance(data, str):
        raise ProtocolError("array data must be a base64 string")
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    dtype = np.dtype(dtype).newbyteorder("<")
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise ProtocolError(f"array data has {len(raw)} bytes, which does not fit shape {shape}")
    return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("=")).reshape(tuple(shape))


def encode_case(case):
    """A case (nested dicts and lists holding arrays) as JSON-ready data."""
    if isinstance(case, np.ndarray):
        return encode_array(case)
    if isinstance(case, dict):
        return {key: encode_case(value) for key, value in case.items()}
    if isinstance(case, (list, tuple)):
        return [encode_case(value) for value in case]
    return case


def decode_case(data):
    """Inverse of `encode_case` for the judge's own, well-formed requests."""
    if isinstance(data, dict):
        if set(data) == {"dtype", "shape", "data"}:
            return decode_array(data)
        return {key: decode_case(value) for key, value in data.items()}
    if isinstance(data, list):
        return [decode_case(value) for value in data]
    return data


def json_index(parts):
    """An index tuple from its JSON form: ints, [start, stop, step] slices and int arrays."""
    def part(p):
        if isinstance(p, dict) and "slice" in p:
            return slice(*p["slice"])
        return p
    return tuple(part(p) for p in parts)


OPERATIONS = {
    "add": lambda tb, a, b: operator.add(a, b),
    "sub": lambda tb, a, b: operator.sub(a, b),
    "mul": lambda tb, a, b: operator.mul(a, b),
    "div": lambda tb, a, b: operator.truediv(a, b),
    "matmul": lambda tb, a, b: operator.matmul(a, b),
    "pow": lambda tb, a, exponent: a**exponent,
    "relu": lambda tb, a: tb.relu(a),
    "exp": lambda tb, a: tb.exp(a),
    "log": lambda tb, a: tb.log(a),
    "sum": lambda tb, a, dim=None: a.sum(dim=dim),
    "mean": lambda tb, a, dim=None: a.mean(dim=dim),
    "getitem": lambda tb, a, index: a[json_index(index)],
}


def spread(seed, count, stream):
    """`count` numbers spread evenly over [-1, 1), neighbours far apart (a Weyl sequence): as varied as
    random draws for testing a gradient, and a few times cheaper, which matters for large cases."""
    step = np.sqrt(PRIMES[stream % len(PRIMES)]) % 1.0
    points = np.arange(1.0, count + 1.0)
    points *= step
    points += seed * 0.6180339887498949
    points -= np.floor(points)  # the fractional part; numpy's % takes several times as long
    points *= 2.0
    points -= 1.0  # in place throughout: each new array of a large case costs page faults in a fresh fork
    return points


PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def _away_from_zero(u):
    magnitude = np.abs(u)
    magnitude *= 1.5
    magnitude += 0.5
    return np.copysign(magnitude, u, out=magnitude)


GENERATORS = {  # how a "generate" request turns numbers spread over [-1, 1) into an input of a kind, in place
    "mixed": lambda u: np.multiply(u, 2.0, out=u),
    "positive": lambda u: np.add(np.multiply(u, 0.75, out=u), 1.25, out=u),
    "away from 0": _away_from_zero,
}


def generated(spec):
    """The inputs (and upstream gradient, and targets) a "generate" request describes by kind and shape:
    a large case travels as a seed, not as megabytes of numbers."""
    seed, drawn = spec["seed"], {"inputs": {}}
    for stream, (name, (kind, shape)) in enumerate(spec["inputs"].items()):
        drawn["inputs"][name] = GENERATORS[kind](spread(seed, int(np.prod(shape)), stream)).reshape(shape)
    if spec.get("grad") is not None:
        drawn["grad"] = spread(seed, int(np.prod(spec["grad"])), len(spec["inputs"])).reshape(spec["grad"])
    if spec.get("target") is not None:
        classes, size = spec["target"]
        drawn["target"] = (np.arange(size) * 7 + seed) % classes
    return drawn


def probes_for(seed, size):
    """The two vectors a large case's arrays of `size` entries are projected on."""
    return [spread(seed, size, stream) for stream in (10, 11)]


def projected(outcome, inputs, seed, probes=None):
    """Two projections of the value and of each gradient (a gradient of the wrong shape raises):
    a few numbers that depend on every entry, so a large case's answer is small."""
    probes = dict(probes or {})  # size -> the two probe vectors, shared by arrays of one size

    def project(array, shape=None, what=""):
        if array is None:
            return None
        array = np.asarray(array, dtype=np.float64)  # no copy of a float64 array: each costs page faults in a fork
        if shape is not None and array.shape != shape:
            raise ValueError(f"{what} has shape {array.shape}, expected {shape}")
        if array.size not in probes:
            probes[array.size] = probes_for(seed, array.size)
        flat = array.reshape(-1)
        return np.array([probe @ flat for probe in probes[array.size]])

    value = project(outcome["value"])  # the given forward's output: no shape to hold it to
    return {"value": value, "grads": {name: project(grad, inputs[name].shape, f"{name}.grad")
                                      for name, grad in outcome["grads"].items()}}


def evaluate(tb, nn, case, backward=True):
    """Run one case with the engine `tb`/`nn`: the output's value and the wanted gradients.

    A case is either a chain of operations ("steps" over named "inputs", each
    input a leaf with requires_grad=True, backward from "output" with "grad")
    or a "network" of "linear"/"relu" layers with a cross-entropy loss. A large
    case "generate"s its inputs from a seed and answers with projections.
    """
    if "generate" in case:
        case = {**case, **(case["generate"].get("drawn") or generated(case["generate"]))}
    inputs = case["inputs"]
    if "layers" in case:
        leaves, network = {}, nn.Network()
        for position, layer in enumerate(case["layers"]):
            if layer == "relu":
                network.add_layer(nn.ReLU())
                continue
            linear = nn.LinearLayer(inputs[f"W{position}"], inputs[f"b{position}"])
            leaves[f"W{position}"], leaves[f"b{position}"] = linear.W, linear.b
            network.add_layer(linear)
        result = nn.CrossEntropyLoss().forward(network.forward(tb.Tensor(inputs["x"])), case["target"])
        grad = None
    else:
        leaves = {name: tb.Tensor(array, requires_grad=True) for name, array in inputs.items()}
        tensors = dict(leaves)
        for name, operation, args, options in case["steps"]:
            operands = [tensors[a] if isinstance(a, str) else a for a in args]
            tensors[name] = OPERATIONS[operation](tb, *operands, **options)
        result, grad = tensors[case["output"]], case.get("grad")
    if backward:
        result.backward() if grad is None else result.backward(grad)
    grads = {name: leaves[name].grad for name in case["wants"]} if backward else {}
    if "generate" in case:
        return projected({"value": result.data, "grads": grads}, inputs, case["generate"]["seed"], case.get("probes", {}))
    return {"value": result.data, "grads": grads}


def _as_float_array(value):
    """Plain float64 data of whatever the student's code produced (None stays None)."""
    return None if value is None else encode_array(np.array(value, dtype=np.float64, subok=False))


def describe(error, submission_dir):
    """`ErrorType: message (at file:line)`, pointing into the student's files where possible."""
    text = type(error).__name__
    try:
        text += f": {error}" if str(error) else ""
    except Exception:  # a student's exception whose __str__ fails
        pass
    where = [
        f"{os.path.basename(frame.filename)}:{frame.lineno}"
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith(submission_dir)
    ]
    return (text[:400] + (f" (at {where[-1]})" if where else "")).strip()


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def _send(fd, message):
    _write_all(fd, (json.dumps(message) + "\n").encode())


def draw_large_inputs(request):
    """Draw each large case's inputs and probes before the fork: the fork then only reads them, and
    pages it only reads cost it nothing, while each page it writes first costs a fault."""
    for case in request["cases"]:
        if "generate" in case:
            spec = case["generate"]
            drawn = generated(spec)
            drawn["probes"] = {array.size: probes_for(spec["seed"], array.size) for array in drawn["inputs"].values()}
            spec["drawn"] = drawn


def answer(tb, nn, request, submission_dir):
    """The protocol line answering one request: each case's value and gradients, or the error it raised."""
    results = []
    for case in request["cases"]:
        try:
            outcome = evaluate(tb, nn, decode_case(case))
            results.append({
                "value": _as_float_array(outcome["value"]),
                "grads": {name: _as_float_array(g) for name, g in outcome["grads"].items()},
            })
        except Exception as error:
            results.append({"error": describe(error, submission_dir)})
    return {"id": request["id"], "results": results}


def in_a_fork(work, keep_from_child, answered=lambda line: None):
    """Run `work()` in a forked child: (the first line it sent back or None, its exit status).

    Whatever the student's code changes while it runs (a patched Tensor.backward, a
    replaced numpy function) dies with the child, so one check's code cannot answer
    the next check. The child gets neither of the judge's pipes (`keep_from_child`).
    A line is handed to `answered` as soon as it arrives, while the child's memory is
    still being torn down: the judge need not wait for that.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for fd in (read_end, *keep_from_child):
                os.close(fd)
            _send(write_end, work())
            code = 0
        except SystemExit as exit:  # sys.exit(n) in the student's code ends the check with status n, as it would the worker
            code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
        finally:
            os._exit(code & 0xFF)  # as the shell sees any exit status; os._exit refuses larger numbers
    os.close(write_end)
    line, status = _first_line(read_end, pid)
    if line is not None:
        answered(line)
    return line, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) if status is None else status


def _first_line(read_end, pid, poll_seconds=0.05):
    """(the first line the child `pid` writes to `read_end` or None, its exit status if it was seen to end).

    While nothing arrives the child is polled: once it has ended without a line, a process it left
    behind may still hold the pipe open, so the pipe's end may never come.
    """
    data, status = b"", None
    try:
        while b"\n" not in data:
            if select.select([read_end], [], [], poll_seconds)[0]:
                chunk = os.read(read_end, 1 << 20)
                if not chunk:
                    break
                data += chunk
                continue
            ended, wait_status = os.waitpid(pid, os.WNOHANG)
            if ended:  # what it wrote is all in the pipe by now
                status = os.waitstatus_to_exitcode(wait_status)
                os.set_blocking(read_end, False)
                try:
                    while chunk := os.read(read_end, 1 << 20):
                        data += chunk
                except BlockingIOError:
                    pass
                break
    finally:
        os.close(read_end)
    return (data.split(b"\n", 1)[0] + b"\n" if b"\n" in data else None), status


def _undumpable():
    """Stop the forked children (same user) from reading or writing this process's memory through
    ptrace or /proc/PID/mem: the module state they start from must stay as imported."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (ImportError, OSError, AttributeError):  # not Linux: the sandbox there is a plain process anyway
        pass


# Per machine: the seccomp architecture id and the system calls that start a process or thread.
NO_CLONE = {"x86_64": (0xC000003E, (56, 57, 58, 435)),  # clone, fork, vfork, clone3
            "aarch64": (0xC00000B7, (220, 435))}  # clone, clone3
ALLOW, REFUSE = 0x7FFF0000, 0x00050000 | 11  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EAGAIN


def no_new_processes_program(machine):
    """A seccomp filter (BPF: code, jump if true, jump if false, operand) that makes every call
    starting a process or thread fail with EAGAIN, as would a process limit of 0; so does every
    call of another system-call ABI (32-bit or x32), which would have other numbers."""
    arch, calls = NO_CLONE[machine]
    load, equal, at_least, give = 0x20, 0x15, 0x35, 0x06
    tests = ([(at_least, 0x40000000)] if machine == "x86_64" else []) + [(equal, call) for call in calls]
    return ([(load, 0, 0, 4), (equal, 1, 0, arch), (give, 0, 0, REFUSE), (load, 0, 0, 0)]
            + [(code, len(tests) - i, 0, operand) for i, (code, operand) in enumerate(tests)]
            + [(give, 0, 0, ALLOW), (give, 0, 0, REFUSE)])


def process_guard():
    """A function that, called in a check's fork, stops it and its code from starting processes or threads.

    The process limit (RLIMIT_NPROC) does nothing for root, which is what a grading container
    often runs as; a seccomp filter binds every user. Where seccomp cannot be set up (another
    machine, an old kernel), the guard does nothing and the process limit is all there is.
    """
    try:
        import ctypes
        program = no_new_processes_program(os.uname().machine)
        libc = ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError, KeyError):
        return lambda: None
    filters = (ctypes.c_uint64 * len(program))(*(code | jt << 16 | jf << 24 | k << 32 for code, jt, jf, k in program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program), ctypes.addressof(filters))

    def guard(filters=filters):  # the default keeps the array that fprog points into alive
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS, which an unprivileged filter needs
        libc.prctl(22, 2, ctypes.byref(fprog), 0, 0)  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
    return guard


def serve(request_fd, response_fd, submission_dir):
    """Import the student's modules, then answer each request in a fresh fork until the judge closes the pipe.

    Importing runs only the given code (grading refuses hand-ins that change it), so the
    state every fork starts from is the release's engine with the student's functions in it.
    """
    try:
        import nn
        import toolbox as tb
    except Exception as error:
        _send(response_fd, {"ready": False, "error": describe(error, submission_dir)})
        return
    _undumpable()
    guard = process_guard()

    def check(request):
        guard()
        return answer(tb, nn, request, submission_dir)

    _send(response_fd, {"ready": True})
    with os.fdopen(request_fd, "rb") as requests:
        for line in requests:
            request = json.loads(line)
            draw_large_inputs(request)
            line, status = in_a_fork(lambda: check(request), (requests.fileno(), response_fd),
                                     answered=lambda line: _write_all(response_fd, line))
            if line is None:  # the child died without answering: so does the worker, with its status
                os._exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    # numpy is loaded: from here on the student's imports find the standard library and the
    # hand-in only, not whatever else is installed beside numpy (outside bubblewrap, a whole
    # site-packages: a package there named toolbox would be graded instead of the student's file).
    sys.path.remove(sys.argv[3])
    serve(int(sys.argv[1]), int(sys.argv[2]), os.path.abspath(sys.argv[4]))
