package io.xformer.text;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** Issue 11, item 11: DJL logs through SLF4J; with no provider on the test class path every ./test printed a warning. */
class Slf4jProviderTest {
    @Test
    void item11_slf4jHasAProviderSoTestsPrintNoWarning() {
        assertTrue(ServiceLoader.load(org.slf4j.spi.SLF4JServiceProvider.class).findFirst().isPresent(),
                "an SLF4J provider (slf4j-nop) on the models test class path");
    }
}
