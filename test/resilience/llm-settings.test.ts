import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { productionProblems } from '../../src/config/production-checks.js';

function settingsWith(env: Record<string, string>) {
  return loadSettings({
    env: {
      WARDEN_ENV: 'development',
      WARDEN_SECRET_KEY: 'k3Y9vQ2mZx7Lr4Tn8Wp1Hs6Bd0Fg5Jc2Nq7Rv3Xy9Ua4Ze8Mw1Ko6Pi5Ls0Dt2Gb',
      ...env,
    },
    envFile: false,
    generateDevSecrets: false,
  }).settings;
}

describe('log-triage and breaker settings', () => {
  it('parses the LLM and breaker settings with safe defaults', () => {
    const defaults = settingsWith({});
    expect(defaults.llmUrl).toBeUndefined();
    expect(defaults.breakerCacheUrl).toBeUndefined();
    expect(defaults.breakerFailureThreshold).toBe(5);
    expect(defaults.breakerHalfOpenAfterMs).toBe(30_000);
    const set = settingsWith({
      WARDEN_LLM_URL: 'https://llm.example/v1',
      WARDEN_LLM_MODEL: 'm',
      WARDEN_BREAKER_CACHE_URL: 'redis://127.0.0.1:6379/2',
    });
    expect(set.llmUrl).toBe('https://llm.example/v1');
    expect(set.breakerCacheUrl).toBe('redis://127.0.0.1:6379/2');
  });

  it('flags a plain-http remote LLM URL and a URL without model for production', () => {
    expect(
      productionProblems(
        settingsWith({ WARDEN_LLM_URL: 'http://llm.example/v1', WARDEN_LLM_MODEL: 'm' }),
      ).join('\n'),
    ).toContain('WARDEN_LLM_URL uses plain http');
    expect(
      productionProblems(
        settingsWith({ WARDEN_LLM_URL: 'http://127.0.0.1:8000/v1', WARDEN_LLM_MODEL: 'm' }),
      ).join('\n'),
    ).not.toContain('WARDEN_LLM_URL');
    expect(
      productionProblems(settingsWith({ WARDEN_LLM_URL: 'https://llm.example/v1' })).join('\n'),
    ).toContain('without WARDEN_LLM_MODEL');
  });
});
