<?php
// A failed login, against crmmock: the habit of a public PHP client (status.message
// returned as the token) and the fixed client.

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

final class LoginFailureTest extends TestCase
{
    private Crmmock $mock;

    protected function setUp(): void
    {
        $this->mock = new Crmmock('--start', '2024-01-01T09:00:00Z');
    }

    protected function tearDown(): void
    {
        $this->mock->stop();
    }

    // The habit (F20): a wrong password makes login() return "Invalid username or
    // password", the next call presents that text as its token, and CRM.COM answers
    // INVALID_TOKEN: the real cause (INVALID_CREDENTIALS) is lost. The journal shows both
    // requests and the lint's message-as-token names the habit.
    public function testMessageReturnedAsTokenAfterFailedLogin(): void
    {
        $client = new LegacyCrmClient($this->mock->apiUrl, 'mpadministrator', 'wrong', 'CRMDEMO');
        $token = $client->login();
        $journal = $this->mock->admin('GET', '/requests')['requests'];
        $this->assertSame('INVALID_CREDENTIALS', $journal[0]['code']);
        $this->assertSame('Invalid username or password', $token, 'status.message came back as the token');

        try {
            $client->get('contact_information/show', ['number' => 'CI000111']);
            $this->fail('a message presented as a token was accepted');
        } catch (CrmException $e) {
            $this->assertSame('INVALID_TOKEN', $e->statusCode);
        }
        $journal = $this->mock->admin('GET', '/requests')['requests'];
        $this->assertSame(['INVALID_CREDENTIALS', 'INVALID_TOKEN'], array_column($journal, 'code'));
        $this->assertSame($token, $journal[1]['token'], 'the journal holds the message as presented');
        $this->assertSame([], $this->mock->admin('GET', '/tokens')['tokens'], 'no token was ever issued');

        // The lint names the habit: one error, pointing at the call and the login it came from.
        $lint = $this->mock->admin('GET', '/lint');
        $this->assertSame(['message-as-token'], array_column($lint['findings'], 'rule'), json_encode($lint['findings']));
        $finding = $lint['findings'][0];
        $this->assertSame('error', $finding['severity']);
        $this->assertSame([$journal[1]['id']], $finding['requests']);
        $this->assertStringContainsString('"Invalid username or password"', $finding['message']);
        $this->assertStringContainsString('request ' . $journal[0]['id'], $finding['message']);
    }

    // The fix: a failed login throws with its own code and nothing is presented; with the
    // right password the token is reused, TOKEN_EXPIRED costs one login, and the lint
    // reports no error and no warning.
    public function testFixedClientFailsOnTheLoginAndRecoversOnExpiry(): void
    {
        $client = new CrmClient($this->mock->apiUrl, 'mpadministrator', 'wrong', 'CRMDEMO');
        try {
            $client->get('contact_information/show', ['number' => 'CI000111']);
            $this->fail('a failed login went unnoticed');
        } catch (CrmException $e) {
            $this->assertSame('INVALID_CREDENTIALS', $e->statusCode);
        }
        $this->assertNull($client->token);

        $client = new CrmClient($this->mock->apiUrl, 'mpadministrator', '1234', 'CRMDEMO');
        $client->get('contact_information/show', ['number' => 'CI000111']);
        $first = $client->token;
        $this->assertMatchesRegularExpression('/^eyJ[^.]+\.[^.]+\.[^.]+$/', $first, 'F9: R12 (the default) issues a JWT');
        $client->get('contact_information/show', ['number' => 'CI000111']);

        // F9: from R12 a token lives 2 h from issue, however often used.
        $this->mock->advance('2h');
        $client->get('contact_information/show', ['number' => 'CI000111']);
        $this->assertSame(1, $client->expired);
        $this->assertNotSame($first, $client->token);

        $journal = $this->mock->admin('GET', '/requests')['requests'];
        $this->assertSame(['INVALID_CREDENTIALS', 'OK', 'OK', 'OK', 'TOKEN_EXPIRED', 'OK', 'OK'], array_column($journal, 'code'));
        $lint = $this->mock->admin('GET', '/lint');
        $this->assertSame(0, $lint['summary']['error'], json_encode($lint['findings']));
        $this->assertSame(0, $lint['summary']['warning'], json_encode($lint['findings']));
    }
}
