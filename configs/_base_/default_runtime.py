default_scope = 'mmris'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo on a machine without a GPU.
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='RISLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=True)
# Logs once per run how many sentences the text encoder cut to its word_len.
custom_hooks = [dict(type='TextTruncationHook')]
log_level = 'INFO'
load_from = None
# a checkpoint (load_from, tools/test.py) whose keys or shapes do not fit the model is an
# error (mmris.engine.RISRunner); False (--non-strict) loads the keys that fit and logs the rest
load_strict = True
resume = False
tta_model = None
