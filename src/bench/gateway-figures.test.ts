import { describe, expect, it } from 'vitest';
import { protocolFigures, sidesInOrder, type RequestTiming } from './gateway-figures.js';

const timing = (totalMs: number, firstByteMs = totalMs / 2): RequestTiming => ({ headersMs: firstByteMs, firstByteMs, totalMs });

describe('protocolFigures', () => {
  it('reports what the gateway adds as the difference of the quantiles of the two sides', () => {
    const direct = [1, 2, 3].map((ms) => timing(ms));
    const gateway = [2, 3.5, 4].map((ms) => timing(ms));
    const figures = protocolFigures(direct, gateway)!;
    expect(figures.direct.total_ms.p50).toBe(2);
    expect(figures.gateway.total_ms.p50).toBe(3.5);
    expect(figures.added_ms_p50).toBe(1.5);
    expect(figures.added_ms_p99).toBe(1.01);
    expect(figures.added_ttfb_ms_p50).toBe(0.75);
    expect(figures.pass).toBe(true);
  });

  it('fails the target when the gateway adds more than 2 ms at the median', () => {
    expect(protocolFigures([timing(1)], [timing(3)])!.pass).toBe(true);
    expect(protocolFigures([timing(1)], [timing(3.01)])!.pass).toBe(false);
  });

  it('has nothing to compare when a side has no successful request', () => {
    expect(protocolFigures([], [timing(1)])).toBeNull();
    expect(protocolFigures([timing(1)], [])).toBeNull();
  });
});

describe('sidesInOrder', () => {
  it('alternates which side goes first', () => {
    expect(sidesInOrder(0)).toEqual(['direct', 'gateway']);
    expect(sidesInOrder(1)).toEqual(['gateway', 'direct']);
    expect(sidesInOrder(2)).toEqual(['direct', 'gateway']);
  });
});
