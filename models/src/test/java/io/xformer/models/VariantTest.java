package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.nn.TorchException;
import org.junit.jupiter.api.Test;

class VariantTest {
    @Test
    void eachVariantNamesItsParts() {
        assertTrue(Variant.XFORMER.hasMae() && Variant.XFORMER.hasBlock() && !Variant.XFORMER.fusesBeforeQFormer());
        assertFalse(Variant.BLIP2.hasMae() || Variant.BLIP2.hasBlock() || Variant.BLIP2.fusesBeforeQFormer());
        for (Variant v : new Variant[] {Variant.CONCAT, Variant.EARLY_CA})
            assertTrue(v.hasMae() && !v.hasBlock() && v.fusesBeforeQFormer(), v.id);
        assertEquals(XFormer.VARIANTS, java.util.List.of("xformer", "blip2", "concat", "early-ca"));
        assertEquals(XFormerForConditionalGeneration.VARIANTS, java.util.List.of("xformer", "blip2"));
        assertEquals("early-ca", Variant.EARLY_CA.toString());
    }

    @Test
    void unknownOrDisallowedVariantsAreNamed() {
        assertSame(Variant.CONCAT, Variant.of("concat", Variant.STAGE1, "X-Former"));
        TorchException e = assertThrows(TorchException.class, () -> Variant.of("concat", Variant.STAGE2, "stage-2"));
        assertEquals("config.json: unknown stage-2 variant 'concat' (xformer, blip2)", e.getMessage());
        e = assertThrows(TorchException.class, () -> Variant.of("Xformer", Variant.STAGE1, "X-Former"));
        assertEquals("config.json: unknown X-Former variant 'Xformer' (xformer, blip2, concat, early-ca)", e.getMessage());
    }
}
