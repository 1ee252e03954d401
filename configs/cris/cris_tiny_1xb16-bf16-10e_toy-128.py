# The README's main job (`bash tools/run_toy.sh`): cris_tiny_1xb16-10e_toy-128.py (same model,
# data, loss and schedule) trained faster on CPU: bf16 autocast in training where the CPU
# computes bf16 natively (AVX-512 BF16 / AMX; elsewhere the wrapper stays fp32) and the
# weights in channels-last format. Validation and testing run in fp32. On the project's 2-core
# machine one training step takes 0.69x the time of the fp32 config's; figures:
# docs/benchmarks.md ("The toy job").
_base_ = ['./cris_tiny_1xb16-10e_toy-128.py']
optim_wrapper = dict(type='BF16OptimWrapper', enabled='auto')
custom_hooks = [dict(type='TextTruncationHook'), dict(type='ChannelsLastHook')]
