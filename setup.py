"""Packaging for mmris: referring image segmentation on the OpenMMLab stack."""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    scope = {}
    with open(osp.join(ROOT, 'mmris', 'version.py')) as f:
        exec(compile(f.read(), 'mmris/version.py', 'exec'), scope)
    return scope['__version__']


def add_mim_extension() -> None:
    """Ship ``configs``, ``tools`` and ``model-index.yml`` inside the package as ``mmris/.mim``
    so that ``mmris::`` config bases and ``mim`` work from an installed wheel.

    In an editable install (``pip install -e .``) they are symlinked; in a wheel, copied.
    """
    mode = 'symlink' if any(a in ('develop', 'editable_wheel') for a in os.sys.argv) \
        else 'copy'
    names = ['configs', 'tools', 'model-index.yml']
    mim_path = osp.join(ROOT, 'mmris', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in names:
        src = osp.join(ROOT, name)
        if not osp.exists(src):
            continue
        tar = osp.join(mim_path, name)
        if osp.islink(tar) or osp.isfile(tar):
            os.remove(tar)
        elif osp.isdir(tar):
            shutil.rmtree(tar)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), tar)
        else:
            (shutil.copytree if osp.isdir(src) else shutil.copyfile)(src, tar)


RUNTIME = [
    'torch>=2.1',
    'torchvision',
    'mmengine==0.10.7',
    'mmcv>=2.1.0,<2.2.0',
    'mmsegmentation==1.2.2',
    'mmpretrain==1.2.0',
    'open_clip_torch>=2.24',
    'timm>=0.9.8',  # DETRIS's DINOv2 (VisionTransformer with reg_tokens); open_clip needs it too
    'pycocotools>=2.0.7',
    'ftfy',
    'regex',
    'setuptools<82',  # mmengine 0.10.7 resolves `pkg::` config bases through pkg_resources
]

EXTRAS = {
    # the BERT path is tested too, so the test extra carries transformers
    'tests': ['pytest>=7', 'pytest-xdist>=3', 'transformers>=4.40,<4.50'],
    # mmpretrain 1.2.0's multimodal models (imported by `mmpretrain.models` whenever
    # transformers is installed) import names from transformers.modeling_utils that 4.50
    # moved elsewhere: with a newer transformers, `import mmpretrain.models` fails
    'bert': ['transformers>=4.40,<4.50'],
}
# ONNX export + onnxruntime inference (tools/deployment, RISInferencer(backend='onnxruntime'))
EXTRAS['deploy'] = ['onnx>=1.16', 'onnxruntime>=1.18']
# the web page (demo/web_demo.py); gradio >= 6.18 needs huggingface-hub >= 1.16, which the
# transformers < 4.50 of the `bert` / `tests` extras refuses (hub < 1.0)
EXTRAS['demo'] = ['gradio>=5.0,<6.18']
# CI runs the ONNX parity tests and drives the web page in a headless Chromium
EXTRAS['tests'] += EXTRAS['deploy'] + EXTRAS['demo'] + ['selenium>=4.11']
# EVF-SAM / EVF-SAM2 (tested, so in the test extra too): BEiT-3's tokenizer, SAM, SAM-2's
# runtime imports, torchscale's fairscale import; torchscale itself (it pins timm==0.6.13 and
# fairscale==0.4.0) and sam2 (its build wants a CUDA extension and torch in an isolated
# build) are installed by tools/install.sh: `pip install --no-deps torchscale==0.3.0` and
# `SAM2_BUILD_CUDA=0 pip install --no-build-isolation sam2==1.1.0`
EXTRAS['evf_sam'] = ['sentencepiece>=0.1.99', 'segment-anything==1.0', 'hydra-core>=1.3.2',
                     'iopath>=0.1.10', 'fairscale>=0.4.13', 'safetensors>=0.4']
EXTRAS['tests'] += EXTRAS['evf_sam']
EXTRAS['all'] = sorted(set(sum(EXTRAS.values(), [])))

if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmris',
        version=get_version(),
        description='Referring image segmentation toolbox on OpenMMLab '
        '(CRIS, EAVL, MMNet, CoupAlign, MagNet)',
        long_description=open(osp.join(ROOT, 'README.md')).read()
        if osp.exists(osp.join(ROOT, 'README.md')) else '',
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        python_requires='>=3.9',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'demo', 'docs')),
        include_package_data=True,
        package_data={'mmris': ['.mim/**/*', '.mim/*']},
        install_requires=RUNTIME,
        extras_require=EXTRAS,
        classifiers=[
            'Programming Language :: Python :: 3',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        zip_safe=False,
    )
