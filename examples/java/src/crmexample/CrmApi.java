package crmexample;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The HTTP side of a CRM.COM Web API client: JSON through Gson, the envelope
 * {status, data}, errors as HTTP 200 with a non-OK status.code. The headers are the ones
 * CRM.COM's own Java sample sends (Content-Type with a charset, Accept-Charset).
 */
public final class CrmApi {
    private static final Gson GSON = new Gson();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String apiUrl;
    private final Map<String, String> credentials;

    /** A non-OK status.code. */
    public static final class CrmException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final String code;

        CrmException(JsonObject status) {
            super(status.get("code").getAsString() + ": " + status.get("message").getAsString());
            this.code = status.get("code").getAsString();
        }
    }

    public CrmApi(String apiUrl, String username, String password, String organisation) {
        this.apiUrl = apiUrl.replaceAll("/+$", "");
        this.credentials = Map.of("username", username, "password", password, "organisation", organisation);
    }

    /** POST authentication/token: a new token, or CrmException. */
    public String login() {
        return call(post("authentication/token", credentials)).get("token").getAsString();
    }

    /** GET a Web API method with the token in the query. */
    public JsonObject get(String path, String token, Map<String, String> params) {
        String query = params.entrySet().stream()
                .map(e -> enc(e.getKey()) + "=" + enc(e.getValue()))
                .collect(Collectors.joining("&"));
        URI uri = URI.create(apiUrl + "/" + path + "?" + (query.isEmpty() ? "" : query + "&") + "token=" + enc(token));
        return call(HttpRequest.newBuilder(uri).header("Accept-Charset", "UTF-8").GET());
    }

    /** POST authentication/token/release (R10, R11). */
    public void release(String token) {
        call(post("authentication/token/release", Map.of("token", token)));
    }

    private HttpRequest.Builder post(String path, Object body) {
        return HttpRequest.newBuilder(URI.create(apiUrl + "/" + path))
                .header("Content-Type", "application/json;charset=UTF-8")
                .header("Accept-Charset", "UTF-8")
                .POST(HttpRequest.BodyPublishers.ofString(GSON.toJson(body)));
    }

    private JsonObject call(HttpRequest.Builder req) {
        String body;
        try {
            body = http.send(req.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        JsonObject answer = GSON.fromJson(body, JsonObject.class);
        JsonObject status = answer.getAsJsonObject("status");
        if (!"OK".equals(status.get("code").getAsString())) {
            throw new CrmException(status);
        }
        return answer.get("data").isJsonObject() ? answer.getAsJsonObject("data") : new JsonObject();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
