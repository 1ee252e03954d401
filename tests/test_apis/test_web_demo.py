"""demo/web_demo.py: its messages on bad input, and the page driven by a real (headless)
Chromium against a tiny random CRIS: upload, two sentences, two different overlays.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them); without them it is skipped, saying so, unless ``MMRIS_REQUIRE_BROWSER=1`` (CI), where
it fails. ``MMRIS_WEB_DEMO_SCREENSHOT=PATH`` keeps its screenshot there (docs/web_demo.png).
"""
import importlib.util
import os
import os.path as osp
import shutil
import socket
import time
import urllib.request

import cv2
import numpy as np
import pytest

from .conftest import ROOT, TINY_CONFIG

DEMO = osp.join(ROOT, 'demo', 'web_demo.py')
IMAGE = osp.join(ROOT, 'demo', 'demo.png')


def load_demo():
    pytest.importorskip('gradio', reason='the web demo needs gradio (extra "demo" / "tests")')
    spec = importlib.util.spec_from_file_location('web_demo', DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_browser():
    """(chromium, chromedriver) paths, or None with the reason."""
    browser = os.environ.get('CHROMIUM') or next(
        filter(None, map(shutil.which, ('chromium', 'chromium-browser'))), None)
    driver = os.environ.get('CHROMEDRIVER') or shutil.which('chromedriver')
    if not browser or not driver:
        return None, ('no Chromium found (need `chromium` and `chromedriver` on PATH, '
                      'Debian: apt-get install chromium chromium-driver)')
    return (browser, driver), None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def segmenter(tiny_checkpoint):
    demo = load_demo()
    return demo.Segmenter({'tiny': (TINY_CONFIG, tiny_checkpoint)})


def test_messages_on_bad_input(segmenter, images):
    overlays, masks, status = segmenter('tiny', None, 'the dog')
    assert overlays == [] and masks == [] and 'No image' in status
    assert 'No sentence' in segmenter('tiny', IMAGE, ' \n  \n')[2]
    for key in ('corrupt', 'empty'):
        overlays, _, status = segmenter('tiny', images[key], 'the dog')
        assert overlays == [] and 'Cannot segment' in status and 'as an image' in status
        assert 'Traceback' not in status
    assert 'unknown model' in segmenter('other', IMAGE, 'the dog')[2]


def test_two_sentences_give_two_overlays_and_masks(segmenter):
    overlays, masks, status = segmenter('tiny', IMAGE, 'the yellow triangle\n\nthe red ball\n')
    assert [caption for _, caption in overlays] == ['1. the yellow triangle',
                                                    '2. the red ball']
    shape = cv2.imread(IMAGE).shape
    for (path, _), mask in zip(overlays, masks):
        assert cv2.imread(path).shape == shape
        assert set(np.unique(cv2.imread(mask, cv2.IMREAD_GRAYSCALE))) <= {0, 255}
    assert status.startswith('**2 sentences in ') and ' s** (tiny on cpu' in status


def test_arguments(tiny_checkpoint, tmp_path):
    demo = load_demo()
    assert list(demo.parse_args([TINY_CONFIG, tiny_checkpoint]).models) == \
        ['cris_tiny_1xb16-10e_toy-128']
    other = str(tmp_path / 'other.pth')
    shutil.copyfile(tiny_checkpoint, other)
    args = demo.parse_args([TINY_CONFIG, tiny_checkpoint, '--model', f'{TINY_CONFIG}={other}',
                            '--port', '7999'])
    assert list(args.models) == ['cris_tiny_1xb16-10e_toy-128 (tiny_cris.pth)',
                                 'cris_tiny_1xb16-10e_toy-128 (other.pth)']
    assert args.models['cris_tiny_1xb16-10e_toy-128 (other.pth)'] == (TINY_CONFIG, other)
    assert args.port == 7999 and args.host == '127.0.0.1'
    # --scan: the runs of a work_dirs folder (the runner's saved config + last checkpoint)
    from mmengine.config import Config
    for run, ckpts in (('run_a', ['epoch_1.pth', 'epoch_2.pth']), ('run_b', ['iter_5.pth']),
                       ('no_weights', [])):
        run_dir = tmp_path / 'work_dirs' / run
        run_dir.mkdir(parents=True)
        Config.fromfile(TINY_CONFIG).dump(str(run_dir / f'{run}.py'))
        for name in ckpts:
            shutil.copyfile(tiny_checkpoint, run_dir / name)
    (tmp_path / 'work_dirs' / 'run_a' / 'last_checkpoint').write_text(
        str(tmp_path / 'work_dirs' / 'run_a' / 'epoch_1.pth'))
    args = demo.parse_args([TINY_CONFIG, tiny_checkpoint, '--scan',
                            str(tmp_path / 'work_dirs')])
    assert list(args.models) == ['cris_tiny_1xb16-10e_toy-128', 'run_a', 'run_b']
    assert args.models['run_a'][1].endswith('run_a/epoch_1.pth')  # last_checkpoint's
    assert args.models['run_b'][1].endswith('run_b/iter_5.pth')
    with pytest.raises(SystemExit):
        demo.parse_args([TINY_CONFIG, tiny_checkpoint, '--scan', str(tmp_path / 'nope')])
    with pytest.raises(SystemExit):
        demo.parse_args([TINY_CONFIG, str(tmp_path / 'missing.pth')])
    with pytest.raises(SystemExit):
        demo.parse_args([TINY_CONFIG, tiny_checkpoint, '--model', 'no-equals-sign'])


def test_in_chromium(tiny_checkpoint, tmp_path):
    found, reason = find_browser()
    if found is None:
        if os.environ.get('MMRIS_REQUIRE_BROWSER') == '1':
            pytest.fail(reason + ' and MMRIS_REQUIRE_BROWSER=1')
        pytest.skip(reason)
    webdriver = pytest.importorskip('selenium.webdriver',
                                    reason='the browser test needs selenium (extra "tests")')
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    demo = load_demo()
    port = free_port()
    app = demo.main([TINY_CONFIG, tiny_checkpoint, '--port', str(port), '--host', '127.0.0.1'],
                    block=False)
    url = f'http://127.0.0.1:{port}/'
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu',
                 '--window-size=1280,1000'):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=found[1]), options=options)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 60)
        upload = wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, '#image input[type=file]')))
        upload.send_keys(IMAGE)
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, '#preview img')))
        box = driver.find_element(By.CSS_SELECTOR, '#sentences textarea')
        box.send_keys('the yellow triangle\nthe big red circle')
        driver.find_element(By.CSS_SELECTOR, '#run').click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '#overlays img')) >= 2)
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '#status'),
                                                    '2 sentences in'))
        time.sleep(0.5)  # let the gallery settle before the screenshot
        srcs = []
        for img in driver.find_elements(By.CSS_SELECTOR, '#overlays img'):
            src = img.get_attribute('src')
            if src not in srcs:
                srcs.append(src)
        assert len(srcs) == 2, srcs
        pixels = []
        for src in srcs:
            assert src.startswith(url), src  # served by the app, on loopback
            data = urllib.request.urlopen(src, timeout=30).read()
            pixels.append(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
        assert pixels[0].shape == pixels[1].shape == cv2.imread(IMAGE).shape
        assert (pixels[0] != pixels[1]).any()  # each sentence drawn on its own overlay
        assert 'Traceback' not in driver.page_source
        shot = str(tmp_path / 'web_demo.png')
        assert driver.save_screenshot(shot) and cv2.imread(shot) is not None
        keep = os.environ.get('MMRIS_WEB_DEMO_SCREENSHOT')
        if keep:
            shutil.copyfile(shot, keep)
    finally:
        driver.quit()
        app.close()
    with pytest.raises(OSError):  # the server is gone
        urllib.request.urlopen(url, timeout=5)
