"""autograd-conformance: YAML claims about PyTorch autograd, run as property-based tests.

The journey of a spec, one module per step:
  loading    YAML text -> plain data + line of every node
  schema     validate against the format (pydantic); JSON Schema export
  expressions  restricted expression language: parse, allowlist, compile to closures
  compiling  claims -> runnable steps and expectations for the installed torch version
  strategies Hypothesis draws for ``given`` and their materialization on a device
  devices    which device slots each claim runs on
  running    run a claim under Hypothesis; check its verdict
  assertions the expectation kinds and their one message template
  failures, repro  what a failure says, and a standalone reproduction
  plugin     the pytest wiring
"""
__version__ = "0.1.0"
