import { describe, expect, it } from 'vitest';
import type { ForwardResult } from '../src/forward';
import { createUnreportedAnswers, MAX_UNREPORTED, UNREPORTED_TTL_MS } from '../src/unreported-answers';

const answer = (statusCode: number): ForwardResult => ({
  statusCode,
  durationMs: 3,
  errorClass: null,
  errorMessage: null,
  responseBody: 'ok',
  retryAfterSeconds: null,
});

describe('answers whose report was refused', () => {
  it('gives a kept answer back once, for the same attempt only', () => {
    const kept = createUnreportedAnswers();
    kept.keep('dlv_1', 1, answer(200));
    kept.keep('dlv_2', 1, answer(500));
    expect(kept.take('dlv_1', 1)).toEqual(answer(200));
    expect(kept.take('dlv_1', 1)).toBeUndefined();
    // Herald recorded an attempt meanwhile: the next one is the local URL's to answer.
    expect(kept.take('dlv_2', 2)).toBeUndefined();
    expect(kept.take('dlv_2', 1)).toBeUndefined();
  });

  it('forgets answers past their time, and keeps at most MAX_UNREPORTED (a server refusing every report)', () => {
    let now = 0;
    const kept = createUnreportedAnswers(() => now);
    kept.keep('dlv_old', 1, answer(200));
    now += UNREPORTED_TTL_MS + 1;
    expect(kept.take('dlv_old', 1)).toBeUndefined();
    for (let i = 0; i <= MAX_UNREPORTED; i++) kept.keep(`dlv_${i}`, 1, answer(200));
    expect(kept.take('dlv_0', 1)).toBeUndefined();
    expect(kept.take('dlv_1', 1)).toEqual(answer(200));
    expect(kept.take(`dlv_${MAX_UNREPORTED}`, 1)).toEqual(answer(200));
  });
});
