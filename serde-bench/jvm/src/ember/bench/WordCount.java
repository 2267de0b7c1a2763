package ember.bench;

import java.io.Serializable;

/** The JVM twin of Ember's {@code WordCount} record. */
public final class WordCount implements Serializable {
    private static final long serialVersionUID = 5118620341972540113L;

    public final String word;
    public final long count;

    public WordCount(String word, long count) {
        this.word = word;
        this.count = count;
    }
}
