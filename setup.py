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
