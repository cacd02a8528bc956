import { describe, expect, it } from 'vitest';
import { createRedactor, redactText } from '../../src/redact/index.js';
import { looksLikeAwsSecretKey } from '../../src/redact/secret-shapes.js';
import { expectUntouched } from './corpus.js';

// AWS's documented example secret key, built by concatenation so that secret scanners do not flag this file.
const AWS_EXAMPLE_SECRET = 'wJalrXUtnFEMI/K7MDENG/' + 'bPxRfiCYEXAMPLEKEY';

// Secret shapes a black-box test found passing through verbatim, one block per shape: the exact
// redacted output, then what must stay readable.

describe('Python dicts and reprs (secret_assignment)', () => {
  it('redacts a single-quoted value under a single-quoted sensitive key', () => {
    expect(redactText("{'username': 'bob', 'password': 'PyDictPassw0rd'}")).toBe(
      "{'username': 'bob', 'password': '[REDACTED:secret_assignment]'}",
    );
  });

  it('redacts mixed quoting: a single-quoted key with a double-quoted value and the reverse', () => {
    expect(redactText(`{'api_key': "k-123", "client_secret": 's 3'}`)).toBe(
      `{'api_key': "[REDACTED:secret_assignment]", "client_secret": '[REDACTED:secret_assignment]'}`,
    );
  });

  it('redacts a single-quoted value with spaces after an unquoted key', () => {
    expect(redactText("password: 'correct horse 9'")).toBe("password: '[REDACTED:secret_assignment]'");
  });

  it("redacts bytes and raw strings (b'…', rb'…') keeping the prefix and quotes", () => {
    expect(redactText("{'password': b'hunter2', 'token': rb'x1', 'n': 1}")).toBe(
      "{'password': b'[REDACTED:secret_assignment]', 'token': rb'[REDACTED:secret_assignment]', 'n': 1}",
    );
  });

  it('reads a backslash inside single quotes as an escape, and escaped single quotes as quotes', () => {
    expect(redactText("{'password': 'it\\'s a s3cret', 'n': 1}")).toBe(
      "{'password': '[REDACTED:secret_assignment]', 'n': 1}",
    );
    expect(redactText("repr: {\\'password\\': \\'x y 1\\'}")).toBe(
      "repr: {\\'password\\': \\'[REDACTED:secret_assignment]\\'}",
    );
  });

  it('redacts a bracketed form field (user[password]=…)', () => {
    expect(redactText('params user[name]=bob&user[password]=hunter2&commit=1')).toBe(
      'params user[name]=bob&user[password]=[REDACTED:secret_assignment]&commit=1',
    );
  });

  it('keeps harmless keys', () => {
    expectUntouched(["{'username': 'bob', 'id': 1}", "{'key_id': 'k-1', 'name': 'x'}"]);
  });
});

describe('command-line flags (secret_flag)', () => {
  it('redacts the argument after a sensitive flag, keeping the next flags', () => {
    expect(redactText('exec app --password CliFlagPassw0rd --user bob')).toBe(
      'exec app --password [REDACTED:secret_flag] --user bob',
    );
  });

  it('redacts --flag=value', () => {
    expect(redactText('exec app --password=x --user=bob')).toBe(
      'exec app --password=[REDACTED:secret_flag] --user=bob',
    );
  });

  it('takes any flag whose name is a sensitive key (--api-key, --token, --client-secret)', () => {
    expect(redactText('cli --api-key k1 --token t --client-secret "a b" --verbose')).toBe(
      'cli --api-key [REDACTED:secret_flag] --token [REDACTED:secret_flag] --client-secret "[REDACTED:secret_flag]" --verbose',
    );
  });

  it('takes single-dash long flags (Go style)', () => {
    expect(redactText('run -password x1 -v')).toBe('run -password [REDACTED:secret_flag] -v');
  });

  it('redacts the element after a sensitive flag in an argv logged as an array, and keeps the rest', () => {
    const redactor = createRedactor();
    expect(redactor.redactValue({ argv: ['node', 'app', '--password', 'hunter', '--user', 'bob', '-token', 'abc', '--secret', '--verbose'] })).toEqual({
      argv: ['node', 'app', '--password', '[REDACTED:secret_flag]', '--user', 'bob', '-token', '[REDACTED:secret_flag]', '--secret', '--verbose'],
    });
    expect(redactor.redactValue(['--name', 'bob', 'password', 'kept-as-a-plain-word'])).toEqual(['--name', 'bob', 'password', 'kept-as-a-plain-word']);
  });

  it('redacts the element after a sensitive flag in an argv array written as text', () => {
    expect(redactText('argv=["app", "--password", "x1", "--user", "bob"]')).toBe(
      'argv=["app", "--password", "[REDACTED:secret_flag]", "--user", "bob"]',
    );
    expect(redactText("argv: ['app', '--api-key', 'k1']")).toBe(
      "argv: ['app', '--api-key', '[REDACTED:secret_flag]']",
    );
  });

  it('keeps a sensitive flag followed by another flag (the password is prompted for)', () => {
    expectUntouched(['mysql --password --user bob -h db1', 'warden login --password']);
  });

  it('keeps flags that are not sensitive, and dashes inside words', () => {
    expectUntouched([
      'app --user bob --name x1 -v',
      'a non-secret value: 1',
      'run --key-id k-1 --cache-key c1',
    ]);
  });
});

describe('MySQL and MariaDB -p<password> (secret_flag)', () => {
  it('redacts a password glued to -p after a MySQL client on the same line', () => {
    expect(redactText('mysql -uroot -pX4 -h db1 app')).toBe(
      'mysql -uroot -p[REDACTED:secret_flag] -h db1 app',
    );
    expect(redactText("/usr/bin/mysqldump -u root -p'a b 1' app")).toBe(
      "/usr/bin/mysqldump -u root -p'[REDACTED:secret_flag]' app",
    );
    expect(redactText('mariadb-dump -pS3cret app')).toBe('mariadb-dump -p[REDACTED:secret_flag] app');
  });

  it('keeps -p alone (a prompt), -P (a port), and -p on lines without a MySQL client', () => {
    expectUntouched([
      'mysql -uroot -p app',
      'mysql -h db1 -P3306 -uroot',
      'mkdir -p /var/x1 && ssh -p22 host',
    ]);
    expectUntouched(['mysql -h db1 -P3306\nssh -p22 host']);
  });
});

describe('URL-encoded assignments (secret_urlencoded)', () => {
  it('redacts key%3Dvalue up to the encoded &', () => {
    expect(redactText('/login?next=%2Fhome%3Fpassword%3DUrlEncPassw0rd%26lang%3Den')).toBe(
      '/login?next=%2Fhome%3Fpassword%3D[REDACTED:secret_urlencoded]%26lang%3Den',
    );
  });

  it('ends the value at a raw & or a character an encoded value cannot hold', () => {
    expect(redactText('GET /cb?state=%3Ftoken%3Dabc123&x=1 "ok"')).toBe(
      'GET /cb?state=%3Ftoken%3D[REDACTED:secret_urlencoded]&x=1 "ok"',
    );
  });

  it('keeps a doubly encoded & inside the value (it is the password’s own &)', () => {
    expect(redactText('next=%2Fx%3Fpassword%3Da%2526b%26y%3D1')).toBe(
      'next=%2Fx%3Fpassword%3D[REDACTED:secret_urlencoded]%26y%3D1',
    );
  });

  it('redacts doubly encoded assignments', () => {
    expect(redactText('next=%252Fx%253Ftoken%253Dabc123%2526y%253D1')).toBe(
      'next=%252Fx%253Ftoken%253D[REDACTED:secret_urlencoded]%2526y%253D1',
    );
  });

  it('redacts encoded JSON (%22key%22%3A%22value%22), keeping the quotes', () => {
    expect(redactText('q=%7B%22user%22%3A%22bob%22%2C%22password%22%3A%22Enc0ded%20pw%22%7D')).toBe(
      'q=%7B%22user%22%3A%22bob%22%2C%22password%22%3A%22[REDACTED:secret_urlencoded]%22%7D',
    );
  });

  it('redacts an encoded bracketed field (user%5Bpassword%5D%3D…)', () => {
    expect(redactText('body=user%5Bname%5D%3Dbob%26user%5Bpassword%5D%3Dhunter2')).toBe(
      'body=user%5Bname%5D%3Dbob%26user%5Bpassword%5D%3D[REDACTED:secret_urlencoded]',
    );
  });

  it('keeps encoded assignments to harmless keys', () => {
    expectUntouched([
      '/login?next=%2Fhome%3Fuser%3Dbob%26page%3D2',
      'url=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1',
    ]);
  });
});

describe('XML elements (secret_xml)', () => {
  it('redacts the content of an element named by a sensitive key', () => {
    expect(redactText('<login><user>bob</user><password>XmlPassw0rd</password></login>')).toBe(
      '<login><user>bob</user><password>[REDACTED:secret_xml]</password></login>',
    );
  });

  it('allows attributes, any case and a namespace prefix', () => {
    expect(redactText('<Password type="plain">Xml1</Password>')).toBe(
      '<Password type="plain">[REDACTED:secret_xml]</Password>',
    );
    expect(redactText('<wsse:Password Type="#PasswordText">ws-1</wsse:Password>')).toBe(
      '<wsse:Password Type="#PasswordText">[REDACTED:secret_xml]</wsse:Password>',
    );
  });

  it('takes any sensitive key name (api_key, SessionToken, clientSecret)', () => {
    expect(
      redactText('<api_key>k1</api_key><SessionToken>t 2</SessionToken><clientSecret>c3</clientSecret>'),
    ).toBe(
      '<api_key>[REDACTED:secret_xml]</api_key><SessionToken>[REDACTED:secret_xml]</SessionToken><clientSecret>[REDACTED:secret_xml]</clientSecret>',
    );
  });

  it('redacts CDATA and child elements whole, up to the closing tag', () => {
    expect(redactText('<password><![CDATA[p4ss<w>rd]]></password>')).toBe(
      '<password>[REDACTED:secret_xml]</password>',
    );
    expect(redactText('<credentials><user>bob</user><value>x1</value></credentials><n>2</n>')).toBe(
      '<credentials>[REDACTED:secret_xml]</credentials><n>2</n>',
    );
  });

  it('redacts the text of an element cut before its closing tag, up to the next < " or line break', () => {
    expect(redactText('{"body":"<password>abc 1"}')).toBe('{"body":"<password>[REDACTED:secret_xml]"}');
  });

  it('keeps harmless elements, empty and self-closing ones, and placeholders in prose', () => {
    expectUntouched([
      '<name>x1</name><user>bob</user>',
      '<password/><token /><secret></secret> 1',
      'usage: put the <token> in the header (1 of 2)',
      "Type 'Promise<Token>' is not assignable to type 'Token' (ts2322)",
      'reads <WARDEN_SECRETS_DIR>/db_password (1 file)',
    ]);
  });

  it('redacts a value made only of letters, in a string holding no digit or punctuation', () => {
    expect(redactText('<password>hunter</password>')).toBe('<password>[REDACTED:secret_xml]</password>');
  });
});

describe('AWS secret access keys without a label (aws_secret_key)', () => {
  const example = AWS_EXAMPLE_SECRET;

  it('redacts a standalone 40-character key', () => {
    expect(redactText(`creds ${example} loaded`)).toBe('creds [REDACTED:aws_secret_key] loaded');
    expect(redactText(`["AKIA${'IOSFODNN7EXAMPLE'}", "${example}"]`)).toBe(
      '["[REDACTED:aws_access_key]", "[REDACTED:aws_secret_key]"]',
    );
  });

  it('redacts it as the value of a harmless key and before sentence punctuation', () => {
    expect(redactText(`key=${example}.`)).toBe('key=[REDACTED:aws_secret_key].');
  });

  it('keeps git SHAs, hex, words, paths and camelCase identifiers of the same length', () => {
    expectUntouched([
      'commit 3f786850e387550fdab836ed7e6dc881de23001b',
      'digest 3F786850E387550FDAB836ED7E6DC881DE23001B',
      'GET /api/v1/Users/12345/Settings/Preferences',
      'test testShouldReturn404WhenUserDoesNotExist1 passed',
      'bean AbstractSingletonProxyFactoryBean2Config',
      'hex 0123456789abcdef0123456789ABCDEF01234567',
      'word Pneumonoultramicroscopicsilicovolcanoco',
    ]);
  });

  it('keeps 40 characters that are part of a longer token', () => {
    expectUntouched([
      `longer ${example}Z1`,
      `path /srv/${example}`,
      `file ${example}.txt`,
      `base64url ${example}-_`,
      `mail ${example}@example`,
    ]);
  });

  it('keeps the last line of a certificate body', () => {
    const pem = [
      '-----BEGIN CERTIFICATE-----',
      `MIIB${'a'.repeat(60)}`,
      'UhWfa/HQYOAPDdEjNgnVwLI23b8t0TozyCWw7q8h',
      '-----END CERTIFICATE-----',
    ];
    expectUntouched([pem.join('\n'), pem.join('\r\n')]);
  });

  it('applies the randomness rule on the candidate itself', () => {
    expect(looksLikeAwsSecretKey(example)).toBe(true);
    expect(looksLikeAwsSecretKey('xK9mP2vL8nQ4rT6wY1zA3bC5dE7fG0hJ2kM4nP6q')).toBe(true);
    expect(looksLikeAwsSecretKey('Ab1+'.repeat(10))).toBe(false); // 4 distinct characters
    expect(looksLikeAwsSecretKey('/srv/app/Xk9Pq2Lm8Nv4Rt6Wy1Za3Bc5De7Fg0H')).toBe(false); // absolute path
  });
});

describe('secrets in prose (secret_prose)', () => {
  it('redacts a secret-looking word after password, passwd, passphrase or secret', () => {
    expect(redactText('login with password Sup3rSecretPw2')).toBe(
      'login with password [REDACTED:secret_prose]',
    );
    expect(redactText('db passwd 9f8e7d6c5b4a for app')).toBe('db passwd [REDACTED:secret_prose] for app');
    expect(redactText('Secret xK9mP2vL8n rotated')).toBe('Secret [REDACTED:secret_prose] rotated');
  });

  it('takes an optional "is" or "was" and keeps sentence punctuation', () => {
    expect(redactText('the password is Hunter2Hunter2.')).toBe('the password is [REDACTED:secret_prose].');
    expect(redactText('the old token was abcd1234efgh!')).toBe('the old token was [REDACTED:secret_prose]!');
  });

  it('looks past a kept word that is itself a key word', () => {
    expect(redactText('password password Sup3rSecret1')).toBe('password password [REDACTED:secret_prose]');
  });

  it('keeps English after the word: short words, words without a digit or an inner capital', () => {
    expectUntouched([
      'password reset failed for bob (attempt 2)',
      'password changed at 2026-11-23',
      'Password Changed for user 42',
      'password policy requires 12 characters',
      'secret rotation scheduled in 30 days',
      'the password is incorrect (code 7)',
      'passwords 12345678abc are not checked',
    ]);
  });

  it('redacts a value mixing cases without a digit, in a string holding no digit or punctuation', () => {
    expect(redactText('password SuperSecretWord')).toBe('password [REDACTED:secret_prose]');
  });
});

describe('the new pattern types are configurable like the others', () => {
  it('can be disabled one by one', () => {
    const redactor = createRedactor({ disabledPatterns: ['secret_prose', 'aws_secret_key'] });
    expect(redactor.redactText(`password Sup3rSecretPw2 --token t1 ${AWS_EXAMPLE_SECRET}`)).toBe(
      `password Sup3rSecretPw2 --token [REDACTED:secret_flag] ${AWS_EXAMPLE_SECRET}`,
    );
  });

  it('honours allowValues', () => {
    const redactor = createRedactor({ allowValues: ['--password=changeme1'] });
    expect(redactor.redactText('app --password=changeme1')).toBe('app --password=changeme1');
  });
});
