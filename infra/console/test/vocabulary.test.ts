// The page keeps its own copy of the vocabulary (web/src/types.ts says why): it must stay the
// contracts' words, in the same order (the page lays regions and services out in that order).
import { COMPONENTS, REGIONS, SERVICES } from '@failover-lab/contracts';
import { describe, expect, it } from 'vitest';
import * as page from '../web/src/types';

describe("the page's vocabulary", () => {
  it('is the contracts package vocabulary', () => {
    expect(page.SERVICES).toEqual(SERVICES);
    expect(page.REGIONS).toEqual(REGIONS);
    expect(page.COMPONENTS).toEqual(COMPONENTS);
  });
});
