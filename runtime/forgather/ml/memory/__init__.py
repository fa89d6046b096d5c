"""Memory levers for training big models on one device (docs/runtime.md, "Memory").

    OptimizerInBackward        the optimizer step fused into backward: no whole-model gradients
    ActivationOffload          saved activations moved to host memory (pinned, asynchronous)
    linear_cross_entropy       causal-LM loss from hidden states, never the full logits
"""
