// Java: records, nested interfaces, enums, constructors, annotations.
package sample;

import java.util.Map;

public final class Registry<K, V> {
    private final Map<K, V> entries;

    public Registry(Map<K, V> entries) {
        this.entries = entries;
    }

    public V get(K key) {
        return entries.get(key);
    }

    public record Entry<K, V>(K key, V value) {
        public Entry {
            java.util.Objects.requireNonNull(key);
        }
    }

    interface Listener {
        void changed(Object key);
    }

    enum Mode { READ, WRITE }
}
