package io.xformer.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * DESIGN's layering, checked on the compiled classes rather than by review: only {@code nn}
 * talks to libxft. Everything above it ({@code models}: io.xformer.models/train/data/text/hf/eval,
 * and {@code cli}) works with Tensor/Module/Scope and never sees a handle or a MemorySegment.
 * The rule names what is allowed (nn, bindings) so that a new package above nn is covered at once.
 */
class LayeringTest {

    @Test
    void nothingAboveNnSeesTheBindingsOrForeignMemory() {
        JavaClasses classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
                .importPackages("io.xformer");
        // the rule must see both layers above nn, or it would pass on nothing
        assertTrue(classes.contain("io.xformer.models.XFormer"), "models' classes imported");
        assertTrue(classes.contain("io.xformer.cli.Main"), "cli's classes imported");
        noClasses()
                .that().resideInAPackage("io.xformer..")
                .and().resideOutsideOfPackages("io.xformer.nn..", "io.xformer.bindings..")
                .should().dependOnClassesThat().resideInAnyPackage("io.xformer.bindings..", "java.lang.foreign..")
                .because("only nn wraps libxft: models and cli go through Tensor, Module and Scope")
                .check(classes);
    }
}
