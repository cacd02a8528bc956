import { expect, it } from 'vitest';
import { triageCapturingBodies } from './fake-chat-provider.js';

// Values under the usual short password names (`DB_PASS`, `SMTP_PASS`, `MYSQL_PWD`, `redisPass`)
// never reach the LLM provider, in JSON lines or in text lines.
it('does not send values of *_pass / *_pwd / *_pw / *Pass keys to the LLM provider', async () => {
  const { bodies, triage, breaker } = triageCapturingBodies();
  const secrets = [
    'DbPassValue-1',
    'SmtpPassValue-2',
    'DbPwValue-3',
    'MysqlPwdValue-4',
    'RedisPassValue-5',
    'EnvPassValue-6',
  ];
  await triage.triage({
    lines: [
      `{"level":50,"msg":"config rejected","db_pass":"${secrets[0]}","smtp_pass":"${secrets[1]}","db_pw":"${secrets[2]}","mysql_pwd":"${secrets[3]}","redisPass":"${secrets[4]}"}`,
      `2026-12-07T10:00:00Z ERROR could not connect with DB_PASS=${secrets[5]}`,
    ],
  });
  breaker.dispose();
  expect(bodies).toHaveLength(1);
  const leaked = secrets.filter((s) => bodies[0]!.includes(s));
  expect(leaked, 'secrets sent to the LLM provider').toEqual([]);
});
