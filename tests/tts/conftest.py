from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from voicebridge.tts import TtsService, TtsSettings

SAMPLE_ZH = '张三给你发来一条消息"这是一条测试消息",请登录WeLink查看,重听请按1,结束请挂机'


@pytest.fixture
async def tts(tmp_path: Path) -> AsyncIterator[TtsService]:
    service = TtsService(TtsSettings(workers=1, fallback=False), tmp_path)
    await service.start()
    try:
        yield service
    finally:
        await service.close()
