package crmexample;

import com.google.gson.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The token handling of CRM.COM's own Java sample: a pool of tokens (64 in the sample)
 * logged in all at once, handed out in turn, and all logged in again on a timer (every
 * 7 000 s in the sample, just under R12's 2 h). A TOKEN_EXPIRED answer is passed to the
 * caller; the dead token stays in the pool until the timer replaces it.
 */
public final class TokenPool {
    /** The sample's refresh period. */
    public static final Duration REFRESH = Duration.ofSeconds(7000);

    private final CrmApi api;
    private final int size;
    private List<String> tokens = List.of();
    private int next;

    public TokenPool(CrmApi api, int size, Scheduler scheduler) {
        this.api = api;
        this.size = size;
        refresh();
        scheduler.every(REFRESH, this::refresh);
    }

    /** Logs in size times and replaces the pool. */
    public synchronized void refresh() {
        List<String> fresh = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            fresh.add(api.login());
        }
        tokens = fresh;
        next = 0;
    }

    /** GET a Web API method with the pool's next token. */
    public JsonObject get(String path, Map<String, String> params) {
        String token;
        synchronized (this) {
            token = tokens.get(next);
            next = (next + 1) % tokens.size();
        }
        return api.get(path, token, params);
    }
}
