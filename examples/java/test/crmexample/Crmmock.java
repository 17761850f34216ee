package crmexample;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A crmmock binary on a free port for one test ($CRMMOCK_BIN, else crmmock on PATH), its
 * control API (/__admin), and a Scheduler whose timers fire on the mock's fake clock.
 */
final class Crmmock implements AutoCloseable {
    private static final Gson GSON = new Gson();
    private final HttpClient http = HttpClient.newHttpClient();
    private final Process proc;
    final String url;
    final String apiUrl;

    Crmmock(String... args) throws IOException {
        String bin = System.getenv().getOrDefault("CRMMOCK_BIN", "crmmock");
        List<String> cmd = new ArrayList<>(List.of(bin, "serve", "--addr", "127.0.0.1:0"));
        cmd.addAll(List.of(args));
        proc = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine(); // "crmmock listening on http://127.0.0.1:PORT"
        String prefix = "crmmock listening on ";
        if (line == null || !line.startsWith(prefix)) {
            proc.destroy();
            throw new IOException("crmmock (" + bin + ") did not start: first line " + line);
        }
        url = line.substring(prefix.length()).trim();
        apiUrl = url + "/crmapi/rest/v2";
    }

    /** A control API call; a non-2xx answer fails with the error it names. */
    JsonObject admin(String method, String path, Object body) {
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(url + "/__admin" + path))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(GSON.toJson(body)));
        try {
            HttpResponse<String> res = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
            JsonObject answer = GSON.fromJson(res.body(), JsonObject.class);
            if (res.statusCode() / 100 != 2) {
                throw new IllegalStateException(method + " /__admin" + path + ": " + res.statusCode() + " " + answer.get("error"));
            }
            return answer;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(method + " /__admin" + path, e);
        }
    }

    JsonObject get(String path) {
        return admin("GET", path, null);
    }

    void advance(Duration d) {
        admin("POST", "/clock/advance", Map.of("duration", d.toSeconds() + "s"));
    }

    /** The mock's clock. */
    Instant now() {
        return Instant.parse(get("/clock").get("now").getAsString());
    }

    /**
     * A Scheduler on the mock's clock: advance(d) moves the mock's clock to each timer's
     * due time within d in turn, runs the timer there, then moves on to the end of d.
     */
    final class FakeTimers implements Scheduler {
        private final List<Instant> due = new ArrayList<>();
        private final List<Duration> periods = new ArrayList<>();
        private final List<Runnable> tasks = new ArrayList<>();

        @Override
        public void every(Duration period, Runnable task) {
            due.add(now().plus(period));
            periods.add(period);
            tasks.add(task);
        }

        void advance(Duration d) {
            Instant end = now().plus(d);
            while (true) {
                int first = -1;
                for (int i = 0; i < due.size(); i++) {
                    if (!due.get(i).isAfter(end) && (first < 0 || due.get(i).isBefore(due.get(first)))) {
                        first = i;
                    }
                }
                if (first < 0) {
                    break;
                }
                moveTo(due.get(first));
                due.set(first, due.get(first).plus(periods.get(first)));
                tasks.get(first).run();
            }
            moveTo(end);
        }

        private void moveTo(Instant t) {
            Duration d = Duration.between(now(), t);
            if (!d.isNegative() && !d.isZero()) {
                Crmmock.this.advance(d);
            }
        }
    }

    @Override
    public void close() {
        proc.destroy(); // SIGTERM: a graceful shutdown
        try {
            proc.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
