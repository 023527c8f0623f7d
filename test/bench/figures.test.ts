import { lowerBoundMs, median, perEvent, ratio, rpsLeftToUs, share } from '../../bench/report/figures';

describe('bench figures', () => {
  it('bounds the time by the calls the quota admitted, less the bucket it may start with', () => {
    expect(lowerBoundMs(1020, 20, 20)).toBe(50_000);
    expect(lowerBoundMs(10, 20, 20)).toBe(0);
    expect(() => lowerBoundMs(10, 0, 0)).toThrow(RangeError);
  });

  it('leaves us the quota a neighbour does not use, and refuses a neighbour that uses it all', () => {
    expect(rpsLeftToUs(20, 0)).toBe(20);
    expect(rpsLeftToUs(20, 4)).toBe(16);
    expect(() => rpsLeftToUs(20, 20)).toThrow(RangeError);
    expect(() => rpsLeftToUs(20, -1)).toThrow(RangeError);
  });

  it('gives counts per event to two decimals, 0 without events', () => {
    expect(perEvent(1_000, 3)).toBe(333.33);
    expect(perEvent(5, 0)).toBe(0);
  });

  it('gives the ratio to two decimals, and none without a bound', () => {
    expect(ratio(54_000, 50_000)).toBe(1.08);
    expect(ratio(1_000, 0)).toBeNull();
  });

  it('gives shares as fractions, 0 of nothing', () => {
    expect(share(1, 3)).toBe(0.3333);
    expect(share(5, 0)).toBe(0);
  });

  it('takes the median of odd and even counts without reordering the input', () => {
    const runs = [300, 100, 200];
    expect(median(runs)).toBe(200);
    expect(runs).toEqual([300, 100, 200]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });
});
