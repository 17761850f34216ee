<?php
// A CRM.COM Web API client in the style of the public PHP clients: curl, json_encode,
// json_decode to arrays, the headers they send (Content-Type with a charset,
// Accept-Charset), the token in the query of GET methods.
//
// CrmClient is the fixed client: a failed login throws, the token is kept and reused,
// and TOKEN_EXPIRED costs exactly one new login. LegacyCrmClient (below) keeps the habit
// found in a public PHP client: after a failed login it returns status.message as the
// token, so the next call presents "Invalid username or password" as a token.

declare(strict_types=1);

final class CrmException extends RuntimeException
{
    public string $statusCode;

    public function __construct(array $status)
    {
        parent::__construct($status['code'] . ': ' . ($status['message'] ?? ''));
        $this->statusCode = $status['code'];
    }
}

class CrmClient
{
    public ?string $token = null;
    /** How often the server said TOKEN_EXPIRED (each followed by one new login). */
    public int $expired = 0;

    public function __construct(
        protected string $apiUrl,
        protected string $username,
        protected string $password,
        protected string $organisation,
    ) {
        $this->apiUrl = rtrim($apiUrl, '/');
    }

    /** One request; returns the decoded envelope {status, data}. */
    protected function call(string $method, string $path, array $query = [], ?array $body = null): array
    {
        $url = $this->apiUrl . '/' . $path;
        if ($query) {
            $url .= '?' . http_build_query($query);
        }
        $ch = curl_init($url);
        curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
        curl_setopt($ch, CURLOPT_TIMEOUT, 10);
        curl_setopt($ch, CURLOPT_CUSTOMREQUEST, $method);
        $headers = ['Accept-Charset: UTF-8'];
        if ($body !== null) {
            curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($body));
            $headers[] = 'Content-Type: application/json;charset=UTF-8';
        }
        curl_setopt($ch, CURLOPT_HTTPHEADER, $headers);
        $raw = curl_exec($ch);
        if ($raw === false) {
            throw new RuntimeException("$method $path: " . curl_error($ch));
        }
        curl_close($ch);
        return json_decode($raw, true, 512, JSON_THROW_ON_ERROR);
    }

    /** POST authentication/token; a non-OK status.code throws. */
    public function login(): string
    {
        $answer = $this->call('POST', 'authentication/token', [], [
            'username' => $this->username,
            'password' => $this->password,
            'organisation' => $this->organisation,
        ]);
        if ($answer['status']['code'] !== 'OK') {
            throw new CrmException($answer['status']);
        }
        return $this->token = $answer['data']['token'];
    }

    /** GET a Web API method with the token in the query; one new login on TOKEN_EXPIRED. */
    public function get(string $path, array $params = []): array
    {
        if ($this->token === null) {
            $this->login();
        }
        $answer = $this->call('GET', $path, $params + ['token' => $this->token]);
        if ($answer['status']['code'] === 'TOKEN_EXPIRED') {
            $this->expired++;
            $this->login();
            $answer = $this->call('GET', $path, $params + ['token' => $this->token]);
        }
        if ($answer['status']['code'] !== 'OK') {
            throw new CrmException($answer['status']);
        }
        return $answer['data'];
    }
}

/** The habit as found: whatever login answers, something comes back as the token. */
class LegacyCrmClient extends CrmClient
{
    public function login(): string
    {
        $answer = $this->call('POST', 'authentication/token', [], [
            'username' => $this->username,
            'password' => $this->password,
            'organisation' => $this->organisation,
        ]);
        if ($answer['status']['code'] == 'OK') {
            return $this->token = $answer['data']['token'];
        }
        return $this->token = $answer['status']['message'];
    }
}
