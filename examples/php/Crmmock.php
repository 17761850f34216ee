<?php
// Start a crmmock binary on a free port for a test, and talk to its control API.
// The binary is $CRMMOCK_BIN, else `crmmock` on PATH (go install
// github.com/crmmock/crmmock/cmd/crmmock@latest).

declare(strict_types=1);

final class Crmmock
{
    public string $url;
    public string $apiUrl;
    /** @var resource */
    private $proc;
    /** @var resource */
    private $stdout;

    public function __construct(string ...$args)
    {
        $bin = getenv('CRMMOCK_BIN') ?: 'crmmock';
        $cmd = array_merge([$bin, 'serve', '--addr', '127.0.0.1:0'], $args);
        $this->proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
        if ($this->proc === false) {
            throw new RuntimeException("cannot start $bin: set CRMMOCK_BIN or put crmmock on PATH");
        }
        $this->stdout = $pipes[1];
        $line = (string) fgets($this->stdout); // "crmmock listening on http://127.0.0.1:PORT"
        $prefix = 'crmmock listening on ';
        if (!str_starts_with($line, $prefix)) {
            $this->stop();
            throw new RuntimeException("crmmock ($bin) did not start: first line " . var_export($line, true));
        }
        $this->url = trim(substr($line, strlen($prefix)));
        $this->apiUrl = $this->url . '/crmapi/rest/v2';
    }

    /** A control API call (/__admin); a non-2xx answer fails with the error it names. */
    public function admin(string $method, string $path, ?array $body = null): array
    {
        $ch = curl_init($this->url . '/__admin' . $path);
        curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
        curl_setopt($ch, CURLOPT_CUSTOMREQUEST, $method);
        if ($body !== null) {
            curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($body));
            curl_setopt($ch, CURLOPT_HTTPHEADER, ['Content-Type: application/json']);
        }
        $raw = curl_exec($ch);
        $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        curl_close($ch);
        $answer = json_decode((string) $raw, true);
        if ($status < 200 || $status > 299) {
            throw new RuntimeException("$method /__admin$path: $status " . ($answer['error'] ?? $raw));
        }
        return $answer;
    }

    public function advance(string $duration): array
    {
        return $this->admin('POST', '/clock/advance', ['duration' => $duration]);
    }

    public function setRelease(string $release): array
    {
        return $this->admin('PUT', '/version', ['version' => $release]);
    }

    public function stop(): void
    {
        if (is_resource($this->proc)) {
            proc_terminate($this->proc); // SIGTERM: a graceful shutdown
            fclose($this->stdout);
            proc_close($this->proc);
        }
    }
}
